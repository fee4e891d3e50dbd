//! applicationHost.config, as IIS and IIS Express write it. Only what the
//! FastCGI path needs is modelled; `<configSections>` and every other
//! section are skipped without complaint.

use super::collection::Level;
use super::fastcgi_application::{applications, FastCgiApplication};
use super::xml::{Document, Element, XmlError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationHost {
    pub sites: Vec<Site>,
    pub fastcgi: Vec<FastCgiApplication>,
    /// `<system.webServer>` handlers and modules at the top level.
    pub server: Level,
    /// `<location path="..."><system.webServer>` blocks.
    pub locations: Vec<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    pub id: u32,
    pub bindings: Vec<Binding>,
    pub applications: Vec<Application>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub protocol: String,
    /// `ip:port:host`, e.g. `*:8080:localhost`.
    pub information: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub path: String,
    pub application_pool: String,
    pub virtual_directories: Vec<VirtualDirectory>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualDirectory {
    pub path: String,
    /// Still `%VAR%`-unexpanded.
    pub physical_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `""` or `"."` for the server level, else `Site Name[/url/path]`.
    pub path: String,
    pub level: Level,
}

impl ApplicationHost {
    pub fn parse(text: &str) -> Result<Self, XmlError> {
        let document = Document::parse(text)?;
        let root = match document.root() {
            Some(root) if root.name == "configuration" => root,
            Some(root) => {
                return Err(XmlError::new(
                    root.line,
                    format!("the root element is <{}>, not <configuration>", root.name),
                ))
            }
            None => return Err(XmlError::new(1, "no root element")),
        };
        let mut host = ApplicationHost::default();
        if let Some(sites) = root.descendant(&["system.applicationHost", "sites"]) {
            for site in sites.elements().filter(|e| e.name == "site") {
                host.sites.push(parse_site(site)?);
            }
        }
        if let Some(fastcgi) = root.descendant(&["system.webServer", "fastCgi"]) {
            host.fastcgi = applications(fastcgi)?;
        }
        host.server = Level::from_system_web_server(root.child("system.webServer"))?;
        for location in root.elements().filter(|e| e.name == "location") {
            if let Some(web_server) = location.child("system.webServer") {
                let path = location.attr("path").unwrap_or("").to_string();
                host.locations.push(Location { path, level: Level::from_system_web_server(Some(web_server))? });
            }
        }
        Ok(host)
    }

    /// The site called `name` (IIS compares site names without regard to case).
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The server-level configuration: the top-level `<system.webServer>`,
    /// then `<location path="">` (or `"."`) blocks.
    pub fn server_levels(&self) -> Vec<&Level> {
        let server = self.locations.iter().filter(|l| matches!(l.path.trim_matches('/'), "" | "."));
        std::iter::once(&self.server).chain(server.map(|l| &l.level)).collect()
    }

    /// The `<location path="Site/url">` blocks for exactly this URL level
    /// (`/` for the site itself). IIS merges them at that level, before the
    /// web.config of the same folder.
    pub fn location_levels(&self, site: &str, url_level: &str) -> Vec<&Level> {
        let wanted = format!("{site}/{}", url_level.trim_matches('/'));
        let wanted = wanted.trim_end_matches('/');
        self.locations
            .iter()
            .filter(|l| l.path.trim_matches('/').eq_ignore_ascii_case(wanted))
            .map(|l| &l.level)
            .collect()
    }
}

fn parse_site(element: &Element) -> Result<Site, XmlError> {
    let name = element
        .attr("name")
        .ok_or_else(|| XmlError::new(element.line, "<site> lacks the required attribute `name`"))?;
    let id = match element.attr("id") {
        Some(text) => {
            text.trim().parse().map_err(|_| XmlError::new(element.line, format!("site id `{text}` is not a number")))?
        }
        None => 0,
    };
    let bindings = element
        .child("bindings")
        .map(|b| {
            b.elements()
                .filter(|e| e.name == "binding")
                .map(|e| Binding {
                    protocol: e.attr("protocol").unwrap_or("http").to_string(),
                    information: e.attr("bindingInformation").unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let applications = element
        .elements()
        .filter(|e| e.name == "application")
        .map(|app| Application {
            path: app.attr("path").unwrap_or("/").to_string(),
            application_pool: app.attr("applicationPool").unwrap_or("").to_string(),
            virtual_directories: app
                .elements()
                .filter(|e| e.name == "virtualDirectory")
                .map(|v| VirtualDirectory {
                    path: v.attr("path").unwrap_or("/").to_string(),
                    physical_path: v.attr("physicalPath").unwrap_or("").to_string(),
                })
                .collect(),
        })
        .collect();
    Ok(Site { name: name.to_string(), id, bindings, applications })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <configSections>
    <sectionGroup name="system.webServer"><section name="fastCgi" allowDefinition="AppHostOnly" /></sectionGroup>
  </configSections>
  <system.applicationHost>
    <applicationPools><add name="Clr4IntegratedAppPool" managedRuntimeVersion="v4.0" /></applicationPools>
    <sites>
      <site name="WebSite1" id="1" serverAutoStart="true">
        <application path="/" applicationPool="Clr4IntegratedAppPool">
          <virtualDirectory path="/" physicalPath="%IIS_SITES_HOME%\WebSite1" />
        </application>
        <bindings><binding protocol="http" bindingInformation=":8080:localhost" /></bindings>
      </site>
      <siteDefaults><logFile logFormat="W3C" /></siteDefaults>
    </sites>
  </system.applicationHost>
  <system.webServer>
    <fastCgi><application fullPath="C:\Python\python.exe" arguments="C:\w.py" /></fastCgi>
    <handlers accessPolicy="Read, Script"><add name="Top" path="*" verb="*" /></handlers>
    <httpCompression directory="%TEMP%"><scheme name="gzip" dll="gzip.dll" /></httpCompression>
  </system.webServer>
  <location path="" overrideMode="Allow">
    <system.webServer><handlers><add name="StaticFile" path="*" verb="*" modules="StaticFileModule" /></handlers></system.webServer>
  </location>
  <location path="WebSite1/api"><system.webServer><handlers><add name="Api" path="*" verb="*" /></handlers></system.webServer></location>
  <location path="Other"><system.webServer><handlers><add name="Other" path="*" verb="*" /></handlers></system.webServer></location>
</configuration>"#;

    #[test]
    fn iis_express_shape_is_read_and_unknown_sections_skipped() {
        let host = ApplicationHost::parse(HOST).unwrap();
        let site = host.site("website1").unwrap();
        assert_eq!((site.id, site.bindings[0].information.as_str()), (1, ":8080:localhost"));
        assert_eq!(site.applications[0].virtual_directories[0].physical_path, r"%IIS_SITES_HOME%\WebSite1");
        assert_eq!(host.fastcgi[0].key(), r"C:\Python\python.exe|C:\w.py");
        assert_eq!(host.server_levels().len(), 2);
        assert_eq!(host.location_levels("website1", "/api").len(), 1);
        assert_eq!(host.location_levels("WebSite1", "/").len(), 0);
        assert_eq!(host.location_levels("Other", "/").len(), 1);
    }
}
