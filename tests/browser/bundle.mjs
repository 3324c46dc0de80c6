// Bundles the npm `auth0-lock` package (which ships only `lib/`, no browser build) into
// dist/lock.js: an IIFE that sets `window.Auth0Lock`, served to the app through AUTH0_LOCK_URL.
import { build } from "esbuild";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
// auth0-js 9 declares "type": "module" while its `main` is a UMD file: use its ESM build.
const auth0Js = path.join(path.dirname(require.resolve("auth0-js/package.json")), "dist/auth0.min.esm.js");

await build({
  stdin: {
    contents: "import Auth0Lock from 'auth0-lock'; window.Auth0Lock = Auth0Lock.default || Auth0Lock;",
    resolveDir: process.cwd(),
  },
  bundle: true,
  format: "iife",
  minify: true,
  outfile: "dist/lock.js",
  plugins: [
    {
      name: "auth0-js-esm",
      setup(b) {
        // Only the bare specifier: subpaths such as auth0-js/dist/cordova-... stay as they are.
        b.onResolve({ filter: /^auth0-js$/ }, () => ({ path: auth0Js }));
      },
    },
  ],
  define: { "process.env.NODE_ENV": '"production"', global: "window" },
  logLevel: "warning",
});
console.log("bundled dist/lock.js");
