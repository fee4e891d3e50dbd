//! SITE, APP and VDIR objects: `list` (text and `/xml`) and `add`.

use super::args::Args;
use super::{Failure, ALREADY_EXISTS, INVALID_DATA, NOT_FOUND};
use iiswsgi_proto::iis::{Document, Element};
use std::fmt::Write as _;

const SITES: [&str; 2] = ["system.applicationHost", "sites"];

fn sites(document: &Document) -> Vec<&Element> {
    document
        .root()
        .and_then(|r| r.descendant(&SITES))
        .map(|s| s.elements().filter(|e| e.name == "site").collect())
        .unwrap_or_default()
}

/// `S/` for the root application, `S/app1` for others.
fn app_name(site: &str, path: &str) -> String {
    format!("{site}{}", if path == "/" { "/".to_string() } else { path.trim_end_matches('/').to_string() })
}

/// `S/`, `S/app1/`, `S/app1/vdir1`, `S/vdir1`.
fn vdir_name(site: &str, app_path: &str, vdir_path: &str) -> String {
    format!("{site}{}{vdir_path}", app_path.trim_end_matches('/'))
}

fn bindings(site: &Element) -> String {
    site.child("bindings")
        .map(|b| {
            b.elements()
                .map(|e| {
                    format!("{}/{}", e.attr("protocol").unwrap_or("http"), e.attr("bindingInformation").unwrap_or(""))
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn default_pool(document: &Document) -> String {
    document
        .root()
        .and_then(|r| r.descendant(&["system.applicationHost", "sites", "applicationDefaults"]))
        .and_then(|d| d.attr("applicationPool"))
        .unwrap_or("DefaultAppPool")
        .to_string()
}

/// One listed object: its type, name, and properties in appcmd's order.
struct Listed {
    kind: &'static str,
    name: String,
    properties: Vec<(&'static str, String)>,
}

pub fn list(document: &Document, object: &str, args: &Args) -> Result<String, Failure> {
    let wanted = args.positional.get(2).map(String::as_str);
    let site_filter = args.named("site.name");
    let app_filter = args.named("app.name");
    let mut listed = Vec::new();
    for site in sites(document) {
        let site_name = site.attr("name").unwrap_or("");
        if site_filter.is_some_and(|f| !f.eq_ignore_ascii_case(site_name)) {
            continue;
        }
        if object == "site" {
            listed.push(Listed {
                kind: "SITE",
                name: site_name.to_string(),
                properties: vec![
                    ("SITE.NAME", site_name.to_string()),
                    ("SITE.ID", site.attr("id").unwrap_or("").to_string()),
                    ("bindings", bindings(site)),
                    ("state", "Started".to_string()),
                ],
            });
            continue;
        }
        for app in site.elements().filter(|e| e.name == "application") {
            let path = app.attr("path").unwrap_or("/");
            let name = app_name(site_name, path);
            if app_filter.is_some_and(|f| !f.eq_ignore_ascii_case(&name)) {
                continue;
            }
            if object == "app" {
                let pool = app.attr("applicationPool").map_or_else(|| default_pool(document), str::to_string);
                listed.push(Listed {
                    kind: "APP",
                    name: name.clone(),
                    properties: vec![
                        ("APP.NAME", name.clone()),
                        ("APPPOOL.NAME", pool),
                        ("SITE.NAME", site_name.to_string()),
                        ("path", path.to_string()),
                    ],
                });
                continue;
            }
            for vdir in app.elements().filter(|e| e.name == "virtualDirectory") {
                let vdir_path = vdir.attr("path").unwrap_or("/");
                let vname = vdir_name(site_name, path, vdir_path);
                listed.push(Listed {
                    kind: "VDIR",
                    name: vname.clone(),
                    properties: vec![
                        ("VDIR.NAME", vname),
                        ("APP.NAME", name.clone()),
                        ("path", vdir_path.to_string()),
                        ("physicalPath", vdir.attr("physicalPath").unwrap_or("").to_string()),
                    ],
                });
            }
        }
    }
    listed.retain(|l| wanted.is_none_or(|w| w.eq_ignore_ascii_case(&l.name)));
    if let (Some(wanted), true) = (wanted, listed.is_empty()) {
        return Err(Failure::new(
            NOT_FOUND,
            format!("Cannot find {} object with identifier \"{wanted}\".", object.to_uppercase()),
        ));
    }
    Ok(render(&listed, args.flag("xml")))
}

fn render(listed: &[Listed], xml: bool) -> String {
    let mut out = String::new();
    if xml {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<appcmd>\n");
        for item in listed {
            let attrs: String = item.properties.iter().map(|(k, v)| format!(" {k}=\"{}\"", quick_escape(v))).collect();
            let _ = writeln!(out, "    <{}{attrs} />", item.kind);
        }
        out.push_str("</appcmd>\n");
    } else {
        for item in listed {
            let shown: Vec<String> = item
                .properties
                .iter()
                .filter(|(k, _)| !k.contains('.') || *k == "SITE.ID" || *k == "APPPOOL.NAME")
                .map(|(k, v)| format!("{}:{v}", short(k)))
                .collect();
            let _ = writeln!(out, "{} \"{}\" ({})", item.kind, item.name, shown.join(","));
        }
    }
    out
}

fn short(key: &str) -> &str {
    match key {
        "SITE.ID" => "id",
        "APPPOOL.NAME" => "applicationPool",
        other => other,
    }
}

fn quick_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

fn required<'a>(args: &'a Args, name: &str) -> Result<&'a str, Failure> {
    args.named(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure::new(INVALID_DATA, format!("/{name}: is required")))
}

pub fn add(document: &mut Document, object: &str, args: &Args) -> Result<String, Failure> {
    let root =
        document.root_mut().ok_or_else(|| Failure::new(INVALID_DATA, "the configuration has no root element"))?;
    let sites = root.descendant_or_insert(&SITES);
    match object {
        "site" => add_site(sites, args),
        "app" => add_app(sites, args),
        _ => add_vdir(sites, args),
    }
}

fn find_site<'a>(sites: &'a mut Element, name: &str) -> Result<&'a mut Element, Failure> {
    sites
        .elements_mut()
        .find(|e| e.name == "site" && e.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .ok_or_else(|| Failure::new(NOT_FOUND, format!("Cannot find SITE object with identifier \"{name}\".")))
}

fn virtual_directory(path: &str, physical: &str) -> Element {
    let mut vdir = Element::new("virtualDirectory");
    vdir.set_attr("path", path);
    vdir.set_attr("physicalPath", physical);
    vdir
}

/// `http/*:80:` or the URL form `http://localhost:8181`.
fn binding(text: &str) -> Element {
    let mut binding = Element::new("binding");
    let (protocol, information) = match text.split_once("://") {
        Some((protocol, rest)) => {
            let host_port = rest.trim_end_matches('/');
            let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "80"));
            (protocol, format!("*:{port}:{}", if host == "*" { "" } else { host }))
        }
        None => text.split_once('/').map_or(("http", text.to_string()), |(p, i)| (p, i.to_string())),
    };
    binding.set_attr("protocol", protocol);
    binding.set_attr("bindingInformation", &information);
    binding
}

fn add_site(sites: &mut Element, args: &Args) -> Result<String, Failure> {
    let name = required(args, "name")?;
    if sites.elements().any(|e| e.name == "site" && e.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(name))) {
        return Err(Failure::new(ALREADY_EXISTS, format!("Failed to add duplicate collection element \"{name}\".")));
    }
    let next_id = sites.elements().filter_map(|e| e.attr("id")?.parse::<u32>().ok()).max().unwrap_or(0) + 1;
    let mut site = Element::new("site");
    site.set_attr("name", name);
    site.set_attr("id", args.named("id").map_or_else(|| next_id.to_string(), str::to_string).as_str());
    let mut out = format!("SITE object \"{name}\" added\n");
    if let Some(physical) = args.named("physicalPath") {
        let mut app = Element::new("application");
        app.set_attr("path", "/");
        app.append_child(virtual_directory("/", physical));
        site.append_child(app);
        let _ = write!(out, "APP object \"{name}/\" added\nVDIR object \"{name}/\" added\n");
    }
    if let Some(list) = args.named("bindings") {
        let mut bindings = Element::new("bindings");
        for text in list.split(',').filter(|b| !b.is_empty()) {
            bindings.append_child(binding(text));
        }
        site.append_child(bindings);
    }
    sites.append_child(site);
    Ok(out)
}

fn add_app(sites: &mut Element, args: &Args) -> Result<String, Failure> {
    let site_name = required(args, "site.name")?;
    let path = format!("/{}", required(args, "path")?.trim_matches('/'));
    let site = find_site(sites, site_name)?;
    if site.elements().any(|e| e.name == "application" && e.attr("path").is_some_and(|p| p.eq_ignore_ascii_case(&path)))
    {
        return Err(Failure::new(ALREADY_EXISTS, format!("Failed to add duplicate collection element \"{path}\".")));
    }
    let mut app = Element::new("application");
    app.set_attr("path", &path);
    if let Some(pool) = args.named("applicationPool") {
        app.set_attr("applicationPool", pool);
    }
    let name = app_name(site_name, &path);
    let mut out = format!("APP object \"{name}\" added\n");
    if let Some(physical) = args.named("physicalPath") {
        app.append_child(virtual_directory("/", physical));
        let _ = writeln!(out, "VDIR object \"{}\" added", vdir_name(site_name, &path, "/"));
    }
    site.append_child(app);
    Ok(out)
}

fn add_vdir(sites: &mut Element, args: &Args) -> Result<String, Failure> {
    let app_full = required(args, "app.name")?;
    let path = format!("/{}", required(args, "path")?.trim_matches('/'));
    let physical = required(args, "physicalPath")?;
    let (site_name, app_path) =
        app_full.split_once('/').map_or((app_full, "/".to_string()), |(s, a)| (s, format!("/{a}")));
    let site = find_site(sites, site_name)?;
    let app = site
        .elements_mut()
        .find(|e| e.name == "application" && e.attr("path").unwrap_or("/").eq_ignore_ascii_case(&app_path))
        .ok_or_else(|| Failure::new(NOT_FOUND, format!("Cannot find APP object with identifier \"{app_full}\".")))?;
    if app
        .elements()
        .any(|e| e.name == "virtualDirectory" && e.attr("path").is_some_and(|p| p.eq_ignore_ascii_case(&path)))
    {
        return Err(Failure::new(ALREADY_EXISTS, format!("Failed to add duplicate collection element \"{path}\".")));
    }
    app.append_child(virtual_directory(&path, physical));
    Ok(format!("VDIR object \"{}\" added\n", vdir_name(site_name, &app_path, &path)))
}
