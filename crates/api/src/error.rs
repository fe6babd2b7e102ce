//! The one place where errors become HTTP responses: RFC 9457
//! `application/problem+json`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An API error; every variant maps to one status code here and nowhere else.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No dataset of that name.
    #[error("no dataset named `{0}`")]
    UnknownDataset(String),
    /// No route at that path.
    #[error("no resource at `{0}`")]
    NotFound(String),
    /// A query or body parameter is invalid.
    #[error("invalid `{name}`: {message}")]
    BadParameter {
        /// Parameter name.
        name: String,
        /// What was expected.
        message: String,
    },
    /// The request body is larger than allowed.
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request is well-formed but the dataset cannot answer it.
    #[error("{0}")]
    Unprocessable(String),
    /// No token, or one that is not configured.
    #[error("{}", if *invalid { "the bearer token is not one this server knows" } else { "this server needs `Authorization: Bearer <token>`" })]
    Unauthorized {
        /// A token was given but is unknown.
        invalid: bool,
    },
    /// The token's role may not do this.
    #[error("a `{role}` token may not do this: it needs `{need}`")]
    Forbidden {
        /// The token's role.
        role: crate::auth::Role,
        /// The role the request needs.
        need: crate::auth::Role,
    },
    /// The path exists, not with this method.
    #[error("`{method}` is not allowed here; allowed: {}", allow.join(", "))]
    MethodNotAllowed {
        /// As requested.
        method: String,
        /// The methods the path answers.
        allow: Vec<String>,
    },
    /// The request conflicts with one running.
    #[error("{0}")]
    Conflict(String),
    /// The pool for heavy work is full: try again later.
    #[error("the server is busy ({busy} requests running, {queued} waiting, the queue holds {queue}); try again in {retry_after_s} s")]
    Busy {
        /// Requests being computed.
        busy: usize,
        /// Requests waiting.
        queued: usize,
        /// The queue's bound.
        queue: usize,
        /// Suggested wait, seconds (`Retry-After`).
        retry_after_s: u64,
    },
    /// The store of scenarios cannot be read or written; answers that
    /// need no store go on.
    #[error("the scenario store is unavailable: {0}")]
    StoreUnavailable(String),
    /// The request ran past its deadline and was abandoned.
    #[error("the request ran past its deadline of {deadline_s} s and was abandoned; try a smaller request, or again when the server is less busy")]
    Deadline {
        /// The server's per-request deadline, seconds.
        deadline_s: f64,
        /// Suggested wait, seconds (`Retry-After`).
        retry_after_s: u64,
    },
    /// A bug or an unexpected failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<bacino_core::Error> for ApiError {
    fn from(e: bacino_core::Error) -> Self {
        match e {
            bacino_core::Error::InvalidParameter { name, message } => {
                ApiError::BadParameter { name, message }
            }
            bacino_core::Error::UnknownFacility(id) => {
                ApiError::Unprocessable(format!("unknown facility id `{id}`"))
            }
            bacino_core::Error::Unavailable(m) => ApiError::Unprocessable(m),
            bacino_core::Error::Network(e) => ApiError::Unprocessable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// `Retry-After` of a 503 for an unavailable store, seconds.
pub const STORE_RETRY_AFTER_S: u64 = 5;

impl From<bacino_store::Error> for ApiError {
    fn from(e: bacino_store::Error) -> ApiError {
        // The store's messages never hold a password (URLs are redacted).
        ApiError::StoreUnavailable(e.to_string())
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// The parameter at fault, for invalid parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::UnknownDataset(_) => {
                (StatusCode::NOT_FOUND, "unknown-dataset", "Unknown dataset")
            }
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::BadParameter { .. } => (
                StatusCode::BAD_REQUEST,
                "invalid-parameter",
                "Invalid parameter",
            ),
            ApiError::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Request body too large",
            ),
            ApiError::Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Cannot compute this for the dataset",
            ),
            ApiError::Unauthorized { .. } => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy", "Server busy"),
            ApiError::StoreUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Store unavailable",
            ),
            ApiError::Deadline { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "deadline",
                "Request deadline passed",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.parts();
        Problem {
            kind: format!("https://bacino.dev/problems/{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            parameter: match self {
                ApiError::BadParameter { name, .. } => Some(name.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(m) = self {
            tracing::error!(error = %m, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized { invalid } => {
                res.insert_header((
                    actix_web::http::header::WWW_AUTHENTICATE,
                    if *invalid {
                        r#"Bearer realm="bacino", error="invalid_token""#
                    } else {
                        r#"Bearer realm="bacino""#
                    },
                ));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                res.insert_header((actix_web::http::header::ALLOW, allow.join(", ")));
            }
            ApiError::Busy { retry_after_s, .. } | ApiError::Deadline { retry_after_s, .. } => {
                res.insert_header((actix_web::http::header::RETRY_AFTER, *retry_after_s));
            }
            ApiError::StoreUnavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                res.insert_header((actix_web::http::header::RETRY_AFTER, STORE_RETRY_AFTER_S));
            }
            _ => {}
        }
        res.content_type("application/problem+json")
            .json(self.problem())
    }
}
