//! Errors in the exact shape Google APIs return them, so clients classify them as they would
//! against Drive (`error.errors[0].reason` drives their retry decisions).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Drive API error: an HTTP status plus Google's `reason`, `message` and optional location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub status: StatusCode,
    /// Google's machine-readable reason (`notFound`, `invalid`, `rateLimitExceeded`...).
    pub reason: String,
    /// Human-readable message, as Google words it where known.
    pub message: String,
    /// The parameter or header the error is about, if any.
    pub location: Option<(String, &'static str)>,
    /// Seconds for a `Retry-After` header, if any.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the given status, reason and message.
    pub fn new(status: StatusCode, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.to_owned(),
            message: message.into(),
            location: None,
            retry_after: None,
        }
    }

    /// Marks the parameter the error is about (`locationType: parameter`).
    pub fn at_param(mut self, name: &str) -> Self {
        self.location = Some((name.to_owned(), "parameter"));
        self
    }

    /// Marks the header the error is about (`locationType: header`).
    pub fn at_header(mut self, name: &str) -> Self {
        self.location = Some((name.to_owned(), "header"));
        self
    }

    /// 404 for a file id that does not exist (or was deleted).
    pub fn file_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("File not found: {id}."),
        )
        .at_param("fileId")
    }

    /// 400 `invalid` for a bad parameter value.
    pub fn invalid_param(name: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message).at_param(name)
    }

    /// 400 `badRequest` with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    /// 400 `parseError` for a body that is not the JSON expected.
    pub fn parse_error(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "parseError",
            format!("Invalid JSON payload received. {detail}"),
        )
    }

    /// 401 `authError` for a missing, unknown or expired access token.
    pub fn auth() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        )
        .at_header("Authorization")
    }

    /// 403 `fieldNotWritable` for a read-only field in a request body.
    pub fn not_writable(field: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "fieldNotWritable",
            format!("The resource body includes fields which are not directly writable: {field}"),
        )
    }

    /// 500 `backendError` for an internal failure (disk IO in the emulator).
    pub fn backend(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "emulator backend error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "backendError",
            "Backend Error",
        )
    }

    /// The Google JSON error body.
    pub fn body(&self) -> serde_json::Value {
        let mut item = json!({"domain": "global", "reason": self.reason, "message": self.message});
        if let Some((loc, kind)) = &self.location {
            item["location"] = json!(loc);
            item["locationType"] = json!(kind);
        }
        json!({"error": {"code": self.status.as_u16(), "message": self.message, "errors": [item]}})
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        Self::backend(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        resp
    }
}

/// Result of a Drive API handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// An OAuth token-endpoint error: `{"error": ..., "error_description": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// HTTP status (400 for `invalid_grant`, 401 for `invalid_client`).
    pub status: StatusCode,
    /// The OAuth error code.
    pub error: &'static str,
    /// The description Google gives.
    pub description: String,
}

impl OAuthError {
    /// `invalid_grant`: bad, reused or expired code, wrong verifier, revoked refresh token.
    pub fn invalid_grant(description: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: description.into(),
        }
    }

    /// `invalid_client`: unknown client id or wrong secret.
    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "The OAuth client was not found.".into(),
        }
    }

    /// `invalid_request`: a required parameter is missing or malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_has_google_shape() {
        let body = ApiError::file_not_found("abc").body();
        assert_eq!(body["error"]["code"], 404);
        assert_eq!(body["error"]["errors"][0]["reason"], "notFound");
        assert_eq!(
            body["error"]["errors"][0]["message"],
            "File not found: abc."
        );
        assert_eq!(body["error"]["errors"][0]["location"], "fileId");
    }
}
