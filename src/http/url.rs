//! The request's own URL, read by the runtime's WHATWG URL parser (`web_sys::Url`, the URL class
//! workerd already has) rather than the `url` crate: the same answers (origin, host name, path,
//! query) without compiling a second parser and its IDNA tables into the worker.

use worker::Request;

use super::ApiError;

pub struct RequestUrl(web_sys::Url);

impl RequestUrl {
    pub fn of(req: &Request) -> Result<Self, ApiError> {
        match web_sys::Url::new(&req.inner().url()) {
            Ok(url) => Ok(Self(url)),
            Err(cause) => {
                crate::log::error(&format!("the request's URL did not parse: {cause:?}"));
                Err(ApiError::Internal)
            }
        }
    }

    /// `scheme://host[:port]`, the port only when it is not the scheme's default.
    pub fn origin(&self) -> String {
        self.0.origin()
    }

    /// The host without its port (an IPv6 address in brackets).
    pub fn host_name(&self) -> String {
        self.0.hostname()
    }

    /// The path, percent-encoded as the request had it.
    pub fn path(&self) -> String {
        self.0.pathname()
    }

    /// The first value of the query parameter `name`, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        self.0.search_params().get(name)
    }
}
