//! Auth0 Organizations, as the dev tenant has them: two fixed organizations every user belongs
//! to, chosen on the login form (or fixed by the app's `organization`), and invitations: a link
//! to the app's `/login?invitation=...&organization=...&organization_name=...` (the format Auth0
//! sends), printed by `/dev/invitations`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use url::Url;

use super::pages::{html, page_error};
use super::state::{random_token, TenantState};

/// An organization of the dev tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevOrganization {
    /// `org_id`, as Auth0 shapes them.
    pub id: &'static str,
    /// `org_name`: lowercase, as Auth0 puts it in tokens.
    pub name: &'static str,
    /// Shown on the login form.
    pub display_name: &'static str,
}

/// The dev tenant's organizations; every dev user is a member of both.
pub const ORGANIZATIONS: [DevOrganization; 2] = [
    DevOrganization {
        id: "org_devAcme0000000001",
        name: "acme",
        display_name: "Acme Corporation",
    },
    DevOrganization {
        id: "org_devGlobex00000002",
        name: "globex",
        display_name: "Globex",
    },
];

/// The organization `value` names: its id, or its name ignoring case (as Auth0 resolves the
/// `organization` parameter).
pub fn resolve(value: &str) -> Option<DevOrganization> {
    ORGANIZATIONS
        .into_iter()
        .find(|org| org.id == value || org.name.eq_ignore_ascii_case(value))
}

/// An invitation to an organization, for one email address; single use.
#[derive(Debug, Clone)]
pub(super) struct Invitation {
    pub(super) organization: DevOrganization,
    pub(super) email: String,
}

impl TenantState {
    /// A new invitation of `email` to `organization`: the link the user follows (to the app's
    /// `/login`, on the first registered callback's origin).
    pub(super) fn invite(&self, organization: DevOrganization, email: &str) -> Url {
        let id = random_token(12);
        self.invitations.lock().expect("lock").insert(
            id.clone(),
            Invitation {
                organization,
                email: email.trim().to_owned(),
            },
        );
        let mut link = self.registration.logout_urls[0]
            .join("/login")
            .expect("a path");
        link.query_pairs_mut()
            .append_pair("invitation", &id)
            .append_pair("organization", organization.id)
            .append_pair("organization_name", organization.name);
        link
    }
}

#[derive(Template)]
#[template(path = "dev_tenant/invitations.html")]
struct InvitationsPage<'a> {
    organizations: &'a [DevOrganization],
    link: Option<String>,
    error: Option<&'a str>,
}

/// `GET /dev/invitations`: a form that invites an email address to an organization.
pub(super) async fn page() -> HttpResponse {
    let page = InvitationsPage {
        organizations: &ORGANIZATIONS,
        link: None,
        error: None,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    organization: String,
    email: String,
}

/// `POST /dev/invitations`: prints the invitation link.
pub(super) async fn invite(
    tenant: web::Data<TenantState>,
    form: web::Form<InviteForm>,
) -> HttpResponse {
    let Some(organization) = resolve(&form.organization) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Unknown organization",
            "Choose one of the tenant's organizations.",
        );
    };
    if super::universal_login::check_credentials(&form.email, "x").is_err() {
        let page = InvitationsPage {
            organizations: &ORGANIZATIONS,
            link: None,
            error: Some("Enter a valid email address."),
        };
        return html(StatusCode::BAD_REQUEST, page.render());
    }
    let link = tenant.invite(organization, &form.email);
    let page = InvitationsPage {
        organizations: &ORGANIZATIONS,
        link: Some(link.to_string()),
        error: None,
    };
    html(StatusCode::OK, page.render())
}
