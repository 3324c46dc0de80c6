// Starts the Lock widget with the configuration the server rendered into #lock-config
// (client id, domain, and options with a fresh server-side state, nonce and PKCE challenge).
(function () {
  "use strict";
  var element = document.getElementById("lock-config");
  if (!element || typeof window.Auth0Lock !== "function") {
    return;
  }
  var config = JSON.parse(element.textContent);
  var lock = new window.Auth0Lock(config.clientID, config.domain, config.options);
  lock.show();
})();
