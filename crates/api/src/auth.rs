//! Access control (CONTRACT §11): bearer tokens, kept only as SHA-256
//! hashes, each with a role.
//!
//! - `reader`: every `GET` (and `HEAD`);
//! - `planner`: also the `POST`s (scenarios, comparisons, siting) and the
//!   stored scenarios' `DELETE`;
//! - `admin`: also `/v1/admin/…` (dataset reload).
//!
//! With no token configured the server is open (the command line then
//! binds it to loopback only, unless told `--open`). With tokens, a request
//! without `Authorization: Bearer …` or with an unknown token gets `401`
//! with `WWW-Authenticate`; a known token of too low a role gets `403`;
//! both as problem+json. The liveness probe, the OpenAPI document with its
//! Swagger UI and the map page's static files stay public: they describe
//! no data (the map page passes the token on every data request it makes).
//!
//! A presented token is hashed and its hash compared with **every**
//! configured hash in constant time, so neither the comparison nor the
//! number of tokens tried reveals how much of a hash matched. Tokens
//! never reach a log: an audit line names the token's `id` (its own, or
//! the first 12 hex digits of its hash), never the token.

use std::fmt;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// What a token may do; each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Every `GET`.
    Reader,
    /// Also scenario, comparison and siting `POST`s, stored scenarios.
    Planner,
    /// Also dataset reload.
    Admin,
}

impl Role {
    /// The settings-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Planner => "planner",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "reader" => Ok(Role::Reader),
            "planner" => Ok(Role::Planner),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "expected reader, planner or admin, found `{other}`"
            )),
        }
    }
}

/// One configured token: the SHA-256 of the token, its role and the id
/// logs name it by.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRule {
    sha256: [u8; 32],
    /// The role.
    pub role: Role,
    /// Named in the audit log (never the token).
    pub id: String,
}

impl fmt::Debug for TokenRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRule")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl TokenRule {
    /// A rule from the hash as 64 hex digits (either case), a role and an
    /// optional id (default: the hash's first 12 digits).
    pub fn new(sha256_hex: &str, role: Role, id: Option<String>) -> Result<TokenRule, String> {
        let hex = sha256_hex.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "sha256: expected 64 hexadecimal digits, found {} characters{}",
                hex.len(),
                if hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    ""
                } else {
                    " with a non-hexadecimal one"
                }
            ));
        }
        let mut sha256 = [0u8; 32];
        for (k, b) in sha256.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).expect("checked hex");
        }
        let id = id.unwrap_or_else(|| hex[..12].to_ascii_lowercase());
        Ok(TokenRule { sha256, role, id })
    }

    /// A rule for `token` itself (hashed here).
    pub fn for_token(token: &str, role: Role, id: Option<String>) -> TokenRule {
        TokenRule::new(&sha256_hex(token), role, id).expect("a hash is 64 hex digits")
    }
}

/// SHA-256 of `token` as 64 lowercase hex digits.
pub fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The rule `token` matches, looking at every rule whatever the outcome
/// and comparing hashes without an early exit.
pub fn find<'a>(rules: &'a [TokenRule], token: &str) -> Option<&'a TokenRule> {
    let h: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut found = None;
    for r in rules {
        let diff = r.sha256.iter().zip(&h).fold(0u8, |d, (a, b)| d | (a ^ b));
        // `black_box` keeps the compiler from turning the fold into an
        // early-exit comparison.
        if std::hint::black_box(diff) == 0 {
            found = Some(r);
        }
    }
    found
}

/// The role a request needs, `None` for the public paths.
pub(crate) fn required(method: &Method, path: &str) -> Option<Role> {
    let public = path == "/"
        || path == "/health"
        || path == "/openapi.json"
        || path == "/docs"
        || path.starts_with("/docs/")
        || path == "/map"
        || path.starts_with("/map/");
    if public && (method == Method::GET || method == Method::HEAD) {
        return None;
    }
    if path.starts_with("/v1/admin/") || path == "/v1/admin" {
        return Some(Role::Admin);
    }
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        Some(Role::Reader)
    } else {
        Some(Role::Planner)
    }
}

/// The bearer token of a request, if it has one.
fn bearer(req: &ServiceRequest) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The refusal as the response (not an error, so that outer layers log
/// it like any other).
fn deny(req: ServiceRequest, e: ApiError) -> ServiceResponse<actix_web::body::BoxBody> {
    req.into_response(e.error_response())
}

/// The middleware: checks the token against the path's role, then logs
/// every request that changes or computes something (not `GET`s) with the
/// caller's id.
pub(crate) async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let rules: &[TokenRule] = state.as_ref().map_or(&[], |s| &s.config.tokens);
    let (method, path) = (req.method().clone(), req.path().to_owned());
    let heavy = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let mut caller: Option<&TokenRule> = None;
    let mut refusal = None;
    if let (false, Some(need)) = (rules.is_empty(), required(&method, &path)) {
        match bearer(&req).map(|t| find(rules, t)) {
            None => refusal = Some(ApiError::Unauthorized { invalid: false }),
            Some(None) => refusal = Some(ApiError::Unauthorized { invalid: true }),
            Some(Some(rule)) => {
                caller = Some(rule);
                if rule.role < need {
                    refusal = Some(ApiError::Forbidden {
                        role: rule.role,
                        need,
                    });
                }
            }
        }
    }
    let res = match refusal {
        Some(e) => deny(req, e),
        None => {
            // A HEAD is routed as the GET it mirrors; the HTTP layer sends
            // the GET's headers (Content-Length included) and no body.
            if method == Method::HEAD {
                req.head_mut().method = Method::GET;
            }
            next.call(req).await?.map_into_boxed_body()
        }
    };
    if heavy {
        tracing::info!(
            target: "bacino::audit",
            token = caller.map_or("-", |c| c.id.as_str()),
            role = caller.map_or(if rules.is_empty() { "open" } else { "-" }, |c| c.role.as_str()),
            %method,
            %path,
            status = res.status().as_u16(),
            "audit"
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_its_own_hash() {
        // SHA-256("test"), as CONTRACT §11 shows it.
        let known = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(sha256_hex("test"), known);
        let rules = vec![
            TokenRule::new(known, Role::Planner, None).unwrap(),
            TokenRule::for_token("other", Role::Reader, Some("r1".into())),
        ];
        assert_eq!(find(&rules, "test").unwrap().role, Role::Planner);
        assert_eq!(find(&rules, "test").unwrap().id, "9f86d081884c");
        assert_eq!(find(&rules, "other").unwrap().id, "r1");
        assert!(find(&rules, "tes").is_none());
        assert!(find(&rules, "test ").is_none());
        assert!(find(&[], "test").is_none());
        // Upper-case hex is the same hash.
        let upper = TokenRule::new(&known.to_ascii_uppercase(), Role::Admin, None).unwrap();
        assert!(find(&[upper], "test").is_some());
    }

    #[test]
    fn malformed_hashes_are_refused() {
        assert!(TokenRule::new("abc", Role::Reader, None)
            .unwrap_err()
            .contains("64 hexadecimal digits"));
        let z = "z".repeat(64);
        assert!(TokenRule::new(&z, Role::Reader, None)
            .unwrap_err()
            .contains("non-hexadecimal"));
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Reader < Role::Planner && Role::Planner < Role::Admin);
    }

    #[test]
    fn roles_follow_method_and_path() {
        assert_eq!(required(&Method::GET, "/health"), None);
        assert_eq!(required(&Method::GET, "/map/assets/map.js"), None);
        assert_eq!(required(&Method::GET, "/openapi.json"), None);
        assert_eq!(
            required(&Method::POST, "/health"),
            Some(Role::Planner),
            "only reads of the public paths are public"
        );
        assert_eq!(
            required(&Method::GET, "/v1/datasets/bergamo/distances"),
            Some(Role::Reader)
        );
        assert_eq!(
            required(&Method::HEAD, "/ogc/collections"),
            Some(Role::Reader)
        );
        assert_eq!(
            required(&Method::POST, "/v1/datasets/bergamo/scenarios"),
            Some(Role::Planner)
        );
        assert_eq!(
            required(&Method::DELETE, "/v1/scenarios/1"),
            Some(Role::Planner)
        );
        assert_eq!(
            required(&Method::POST, "/v1/admin/reload"),
            Some(Role::Admin)
        );
        assert_eq!(
            required(&Method::GET, "/v1/admin/reload"),
            Some(Role::Admin)
        );
    }
}
