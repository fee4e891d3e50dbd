//! The HTTP front: hyper's HTTP/1.1 server (keep-alive), the request
//! routed to a handler the way IIS routes it, and the access log.

use crate::access_log::{AccessLog, Entry};
use crate::body::Body;
use crate::error_page::{IisError, Substatus};
use crate::fastcgi_handler::{self, Target};
use crate::old_python::PythonHome;
use crate::pool::Pool;
use crate::rewrite::{Aborted, Peer, Rewriter};
use crate::server_vars::{server_variables, RequestInfo};
use crate::site::{is_fastcgi, Site};
use crate::static_files;
use http::{header, HeaderValue, Request, Response};
use hyper::body::Incoming;
use iiswsgi_proto::iis::Handler;
use iiswsgi_proto::iis::ModuleKind;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub struct State {
    pub site: Site,
    /// How long a client may take to send a request's headers (IIS's
    /// `headerWaitTimeout`): a slow-loris client is cut off after it.
    pub header_timeout: std::time::Duration,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    /// The processes of httpPlatformHandler and AspNetCoreModuleV2 handlers.
    http_platform: crate::http_platform::Applications,
    log: AccessLog,
    python_home: Option<PythonHome>,
    gateway: crate::Gateway,
    rewriter: Rewriter,
}

impl State {
    pub fn new(
        site: Site,
        log: AccessLog,
        header_timeout: std::time::Duration,
        python_home: Option<PythonHome>,
        gateway: crate::Gateway,
    ) -> Self {
        let http_platform = crate::http_platform::Applications::new(python_home.clone());
        Self {
            site,
            header_timeout,
            pools: Mutex::new(HashMap::new()),
            http_platform,
            log,
            python_home,
            gateway,
            rewriter: Rewriter::default(),
        }
    }

    fn pool_for(&self, app: &iiswsgi_proto::iis::FastCgiApplication) -> Arc<Pool> {
        let key = crate::site::expand(&app.key()).to_lowercase();
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools.entry(key).or_insert_with(|| Pool::new(app.clone(), self.python_home.as_ref(), &self.gateway)).clone()
    }

    pub async fn shutdown(&self) {
        let pools: Vec<Arc<Pool>> = self.pools.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for pool in pools {
            pool.shutdown().await;
        }
        self.http_platform.shutdown().await;
    }
}

/// Accepts connections until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(remote);
        let header_timeout = state.header_timeout;
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move {
                    let response = handle(state, request, remote, local).await;
                    // An error from the service makes hyper drop the
                    // connection without an answer.
                    match response.extensions().get::<Aborted>() {
                        Some(aborted) => Err(*aborted),
                        None => Ok(response),
                    }
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.keep_alive(true).timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
            if let Err(err) = builder.serve_connection(io, service).await {
                tracing::debug!("connection from {remote}: {err}");
            }
        });
    }
    state.shutdown().await;
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
    remote: SocketAddr,
    local: SocketAddr,
) -> Response<Body> {
    let started = Instant::now();
    let raw_path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let entry = Entry {
        log: state.log.clone(),
        started,
        local,
        remote,
        method: request.method().to_string(),
        stem: raw_path.clone(),
        query: query.clone(),
        status: 0,
        substatus: 0,
        bytes: 0,
        aborted: false,
    };
    let mut response = route(&state, request, remote, local).await;
    response.headers_mut().insert(header::SERVER, HeaderValue::from_static("Microsoft-IIS/10.0"));
    let (parts, body) = response.into_parts();
    let entry = Entry {
        stem: parts.extensions.get::<LoggedUrl>().map_or(entry.stem, |logged| logged.0.clone()),
        status: parts.status.as_u16(),
        substatus: parts.extensions.get::<Substatus>().map_or(0, |s| s.0),
        ..entry
    };
    Response::from_parts(parts, body.with_log(entry))
}

/// The URL the access log shows instead of the requested one (a Rewrite
/// with `logRewrittenUrl`).
#[derive(Clone)]
struct LoggedUrl(String);

/// Request filtering and URL Rewrite, in the order IIS runs them, then
/// the handler the (maybe rewritten) URL maps to.
async fn route(state: &State, mut request: Request<Incoming>, remote: SocketAddr, local: SocketAddr) -> Response<Body> {
    let raw_path = request.uri().path().to_string();
    let error = |e: IisError| e.response(&raw_path, "");
    let Ok(url) = percent_encoding::percent_decode_str(&raw_path).decode_utf8().map(|u| u.into_owned()) else {
        return error(IisError::new(400, 0, "The request URL is not valid UTF-8."));
    };
    if let Some(refusal) = refuse_path(&url) {
        return error(refusal);
    }
    let rewritten = match state.rewriter.apply(&state.site, &mut request, &url, Peer { remote, local }) {
        Ok(rewritten) => rewritten,
        Err(answer) => return *answer,
    };
    if rewritten.url != url {
        if let Some(refusal) = refuse_path(&rewritten.url) {
            return refusal.response(&rewritten.raw_path, "");
        }
    }
    let target = Dispatch {
        url: &rewritten.url,
        raw_path: &rewritten.raw_path,
        query: &rewritten.query,
        variables: &rewritten.variables,
        remote,
        local,
    };
    let mut response = dispatch(state, request, target).await;
    if let Some(logged) = rewritten.logged {
        response.extensions_mut().insert(LoggedUrl(logged));
    }
    response
}

/// Where a request goes after URL Rewrite.
struct Dispatch<'a> {
    url: &'a str,
    raw_path: &'a str,
    query: &'a str,
    /// Server variables rewrite rules set (not request headers).
    variables: &'a [(String, String)],
    remote: SocketAddr,
    local: SocketAddr,
}

async fn dispatch(state: &State, request: Request<Incoming>, target: Dispatch<'_>) -> Response<Body> {
    let Dispatch { url, raw_path, query, variables, remote, local } = target;
    let site = &state.site;
    let error = |e: IisError| e.response(raw_path, "");
    let resolved = match site.resolve(url) {
        Ok(resolved) => resolved,
        Err(failure) => {
            return error(IisError::new(
                500,
                19,
                format!("The requested page cannot be accessed because the related configuration data for the page is invalid. {}", failure.0),
            ))
        }
    };
    let physical_text = resolved.physical.to_string_lossy().into_owned();
    let method = request.method().clone();
    let on_disk = |script: &str| if script == url { resolved.on_disk } else { site.on_disk(script) };
    let Some(handler) = select_handler(&resolved.handlers, url, method.as_str(), &on_disk) else {
        return IisError::new(404, 4, "The resource you are looking for does not have a handler associated with it.")
            .response(raw_path, &physical_text);
    };
    let module = handler_module(handler);
    if resolved.modules.as_ref().is_some_and(|modules| !modules.iter().any(|m| m.0.eq_ignore_ascii_case(module))) {
        let message = format!("Handler \"{}\" has a bad module \"{module}\" in its module list", handler.name);
        return IisError { error_code: 0x8007_000d, ..IisError::new(500, 21, message) }
            .response(raw_path, &physical_text);
    }
    if let Some(kind) = http_platform_kind(handler) {
        let Some(config) = resolved.http_platform.iter().find(|s| s.kind == kind) else {
            let message =
                format!("Handler \"{}\" needs a <{}> section with a processPath", handler.name, kind.section());
            return IisError::new(500, 19, message)
                .with_module(module, &handler.name)
                .response(raw_path, &physical_text);
        };
        let place = crate::http_platform::Place {
            app_url: &resolved.app_url,
            app_physical: std::path::Path::new(&resolved.app_physical),
            remote,
            raw_path,
            physical: &physical_text,
            handler: &handler.name,
        };
        return state.http_platform.serve(config, place, request).await;
    }
    if !is_fastcgi(handler) {
        return static_files::serve(&method, raw_path, &resolved.physical, &resolved.root).await;
    }
    let Some(app) = site.registry.find(&handler.script_processor) else {
        return IisError::fastcgi(
            &handler.name,
            format!("{} scriptProcessor could not be found in <fastCGI> application configuration", handler.name),
            0x8007_0002,
        )
        .response(raw_path, &physical_text);
    };
    let pool = state.pool_for(app);
    let content_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| (!request.headers().contains_key(header::TRANSFER_ENCODING)).then_some(0));
    let info = RequestInfo {
        method: method.as_str(),
        raw_path,
        query,
        url,
        script_name: handler.script_part(url).unwrap_or(url),
        headers: request.headers(),
        version: request.version(),
        remote,
        local,
        site_name: &site.name,
        site_id: site.id,
        app_url: &resolved.app_url,
        app_physical: &resolved.app_physical,
        physical_path: &physical_text,
        content_length,
    };
    let mut params = server_variables(&info);
    for (name, value) in variables {
        if let Some((_, slot)) = params.iter_mut().find(|(n, _)| n == name) {
            *slot = value.clone().into_bytes();
        }
    }
    let target = Target {
        url: raw_path.to_string(),
        physical: physical_text.clone(),
        handler: handler.name.clone(),
        response_buffer_limit: handler.response_buffer_limit,
        head_request: method == http::Method::HEAD,
    };
    fastcgi_handler::serve(pool, target, params, request.into_body()).await
}

/// The first mapping that matches and that the emulator can run: FastCGI
/// and static files. Mappings for modules it does not have (ISAPI, CGI,
/// managed handlers, ...) are passed over.
fn select_handler<'a>(
    handlers: &'a [Handler],
    url: &str,
    verb: &str,
    on_disk: &dyn Fn(&str) -> iiswsgi_proto::iis::OnDisk,
) -> Option<&'a Handler> {
    handlers.iter().filter(|h| is_runnable(h)).find(|h| h.matches(url, verb, on_disk))
}

fn is_runnable(handler: &Handler) -> bool {
    handler.module_names().any(|m| {
        m.eq_ignore_ascii_case("FastCgiModule")
            || m.eq_ignore_ascii_case("StaticFileModule")
            || module_kind(m).is_some()
    })
}

fn module_kind(name: &str) -> Option<ModuleKind> {
    [ModuleKind::HttpPlatform, ModuleKind::AspNetCore].into_iter().find(|k| k.module_name().eq_ignore_ascii_case(name))
}

/// The HTTP-proxying module a handler names, if any.
fn http_platform_kind(handler: &Handler) -> Option<ModuleKind> {
    handler.module_names().find_map(module_kind)
}

/// The module that runs a (runnable) handler, for the module check.
fn handler_module(handler: &Handler) -> &'static str {
    match http_platform_kind(handler) {
        Some(kind) => kind.module_name(),
        None if is_fastcgi(handler) => "FastCgiModule",
        None => "StaticFileModule",
    }
}

/// IIS's default request-filtering `<hiddenSegments>`: never served,
/// whatever the handlers say.
const HIDDEN_SEGMENTS: [&str; 9] = [
    "web.config",
    "bin",
    "App_code",
    "App_GlobalResources",
    "App_LocalResources",
    "App_WebReferences",
    "App_Data",
    "App_Browsers",
    "App_Themes",
];

/// URLs that could leave the site or expose its configuration: IIS
/// refuses `..` segments, backslashes, double escaping and hidden segments
/// before any handler runs.
fn refuse_path(url: &str) -> Option<IisError> {
    if url.split('/').any(|segment| HIDDEN_SEGMENTS.iter().any(|h| h.eq_ignore_ascii_case(segment))) {
        return Some(IisError::new(404, 8, "The request filtering module is configured to deny a path in the URL that contains a hiddenSegment section."));
    }
    if url.contains('%') {
        return Some(IisError::new(
            404,
            11,
            "The request filtering module is configured to deny a request that contains a double escape sequence.",
        ));
    }
    let bad = url.contains('\\')
        || url.contains('\0')
        || url.contains(':')
        || url.split('/').any(|segment| segment == ".." || segment == ".")
        || !url.starts_with('/');
    bad.then(|| {
        IisError::new(
            404,
            0,
            "The resource you are looking for has been removed, had its name changed, or is temporarily unavailable.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::refuse_path;

    #[test]
    fn paths_that_could_leave_the_site_are_refused() {
        for url in ["/../etc/passwd", "/a/../../x", "/a\\..\\b", "/%2e%2e/x", "relative", "/c:/windows", "/a/./b"] {
            assert!(refuse_path(url).is_some(), "{url}");
        }
        assert!(refuse_path("/static/app.css").is_none());
        assert_eq!(refuse_path("/sub/Web.Config").map(|e| e.substatus), Some(8));
        assert!(refuse_path("/").is_none());
    }
}
