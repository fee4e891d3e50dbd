//! Who IIS runs an application as, and what it may do with a file: the
//! decisions behind the Windows access check, kept apart from the Win32
//! calls so that they are tested everywhere. The pool comes from the
//! application's `applicationPool` (else `<applicationDefaults>`, else
//! IIS's `DefaultAppPool`); its account from the pool's `<processModel
//! identityType>` (else `<applicationPoolDefaults>`, else
//! ApplicationPoolIdentity, IIS 7.5's default: the virtual account `IIS
//! AppPool\<pool>`). Sources: IIS configuration reference for
//! `applicationPools/add/processModel` and `sites/site/application`.

// Used by the Windows check; tested on every platform.
#![cfg_attr(not(windows), allow(dead_code))]

use iiswsgi_proto::iis::{Document, Element};

/// What a place must allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rights {
    /// Read and execute: the program, its Python, the venv, the site.
    ReadExecute,
    /// Modify: the folder WSGI_LOG writes into.
    Write,
}

/// `FILE_GENERIC_READ | FILE_GENERIC_EXECUTE` and `FILE_GENERIC_WRITE`
/// (winnt.h), as access masks.
const READ_EXECUTE: u32 = 0x0012_0089 | 0x0012_00a0;
const WRITE: u32 = 0x0012_0116;

impl Rights {
    fn mask(self) -> u32 {
        match self {
            Rights::ReadExecute => READ_EXECUTE,
            Rights::Write => WRITE,
        }
    }

    /// Whether `granted` (an effective access mask) covers these rights.
    pub fn granted_by(self, granted: u32) -> bool {
        // GENERIC_ALL (or FILE_ALL_ACCESS, 0x1f01ff) covers everything.
        granted & 0x1000_0000 != 0 || granted & self.mask() == self.mask()
    }

    /// The icacls grant that gives `account` these rights on `path`
    /// (inherited by what a folder holds).
    pub fn grant(self, account: &str, path: &str, is_dir: bool) -> String {
        let inherit = if is_dir { "(OI)(CI)" } else { "" };
        let right = match self {
            Rights::ReadExecute => "RX",
            Rights::Write => "M",
        };
        format!("icacls \"{path}\" /grant \"{account}:{inherit}{right}\"")
    }
}

/// The account an application pool runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub pool: String,
    pub account: String,
}

fn child<'a>(parent: &'a Element, name: &str) -> Option<&'a Element> {
    parent.elements().find(|e| e.name == name)
}

/// The identity serving the application at `app_url` of `site_name`, from
/// applicationHost.config's text.
pub fn of_application(app_host: &str, site_name: &str, app_url: &str) -> Option<Identity> {
    let document = Document::parse(app_host).ok()?;
    let host = child(document.root()?, "system.applicationHost")?;
    let sites = child(host, "sites")?;
    let site = sites
        .elements()
        .find(|s| s.name == "site" && s.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(site_name)))?;
    let application = site
        .elements()
        .filter(|a| a.name == "application")
        .find(|a| a.attr("path").is_some_and(|p| p.trim_end_matches('/') == app_url.trim_end_matches('/')));
    let defaults = |parent: &Element| {
        child(parent, "applicationDefaults").and_then(|d| d.attr("applicationPool")).map(str::to_string)
    };
    let pool = application
        .and_then(|a| a.attr("applicationPool").map(str::to_string))
        .or_else(|| defaults(site))
        .or_else(|| defaults(sites))
        .unwrap_or_else(|| "DefaultAppPool".to_string());
    let pools = child(host, "applicationPools");
    let model = |entry: Option<&Element>| entry.and_then(|e| child(e, "processModel")).cloned();
    let own = model(pools.and_then(|p| {
        p.elements().find(|e| e.name == "add" && e.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(&pool)))
    }));
    let fallback = model(pools.and_then(|p| child(p, "applicationPoolDefaults")));
    let identity_type = own
        .as_ref()
        .and_then(|m| m.attr("identityType"))
        .or_else(|| fallback.as_ref().and_then(|m| m.attr("identityType")))
        .unwrap_or("ApplicationPoolIdentity");
    let account = match identity_type.to_ascii_lowercase().as_str() {
        "localsystem" => "NT AUTHORITY\\SYSTEM".to_string(),
        "localservice" => "NT AUTHORITY\\LOCAL SERVICE".to_string(),
        "networkservice" => "NT AUTHORITY\\NETWORK SERVICE".to_string(),
        "specificuser" => own.as_ref().or(fallback.as_ref()).and_then(|m| m.attr("userName")).unwrap_or("").to_string(),
        _ => format!("IIS AppPool\\{pool}"),
    };
    Some(Identity { pool, account })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = r#"<configuration><system.applicationHost>
  <applicationPools>
    <add name="PyPool"><processModel identityType="ApplicationPoolIdentity" /></add>
    <add name="Net"><processModel identityType="NetworkService" /></add>
    <add name="Named"><processModel identityType="SpecificUser" userName="CORP\svc-web" /></add>
    <add name="Plain" />
    <applicationPoolDefaults><processModel identityType="LocalService" /></applicationPoolDefaults>
  </applicationPools>
  <sites>
    <site name="Python">
      <application path="/" applicationPool="PyPool" />
      <application path="/net" applicationPool="Net" />
      <application path="/named" applicationPool="Named" />
      <application path="/plain" applicationPool="Plain" />
      <application path="/default" />
    </site>
    <applicationDefaults applicationPool="Named" />
  </sites>
</system.applicationHost></configuration>"#;

    fn account(url: &str) -> String {
        of_application(HOST, "python", url).unwrap().account
    }

    #[test]
    fn the_pools_process_model_names_the_account() {
        assert_eq!(
            of_application(HOST, "Python", "/").unwrap(),
            Identity { pool: "PyPool".into(), account: "IIS AppPool\\PyPool".into() }
        );
        assert_eq!(account("/net/"), "NT AUTHORITY\\NETWORK SERVICE");
        assert_eq!(account("/named"), "CORP\\svc-web");
        // No processModel of its own: applicationPoolDefaults.
        assert_eq!(account("/plain"), "NT AUTHORITY\\LOCAL SERVICE");
        // No applicationPool: the sites' applicationDefaults.
        assert_eq!(account("/default"), "CORP\\svc-web");
        assert_eq!(of_application(HOST, "Elsewhere", "/"), None);
    }

    /// Masks as `icacls` grants them, recorded from Windows: (RX) is
    /// 0x1200a9, (M) 0x1301bf, (F) 0x1f01ff, (R) 0x120089.
    #[test]
    fn effective_masks_decide_what_is_missing() {
        assert!(Rights::ReadExecute.granted_by(0x0012_00a9));
        assert!(Rights::ReadExecute.granted_by(0x001f_01ff));
        assert!(!Rights::ReadExecute.granted_by(0x0012_0089));
        assert!(!Rights::Write.granted_by(0x0012_00a9));
        assert!(Rights::Write.granted_by(0x0013_01bf));
        assert!(Rights::Write.granted_by(0x1000_0000));
        assert_eq!(
            Rights::Write.grant("IIS AppPool\\PyPool", r"C:\logs", true),
            r#"icacls "C:\logs" /grant "IIS AppPool\PyPool:(OI)(CI)M""#
        );
        assert_eq!(
            Rights::ReadExecute.grant("IIS AppPool\\PyPool", r"C:\py\python.exe", false),
            r#"icacls "C:\py\python.exe" /grant "IIS AppPool\PyPool:RX""#
        );
    }
}
