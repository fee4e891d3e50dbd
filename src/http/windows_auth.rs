//! `forwardWindowsAuthToken`: the module duplicates the Windows user's
//! token into this process and sends its handle value, in hex, in a
//! request header (ANCM: `MS-ASPNETCORE-WINAUTHTOKEN`; HttpPlatformHandler
//! v1.2: `X-IIS-WindowsAuthToken`). The process owns the handle: it is
//! resolved to `DOMAIN\user` (REMOTE_USER, AUTH_TYPE Negotiate) and closed.
//! Sources: dotnet/aspnetcore `forwardinghandler.cpp` `GetHeaders`
//! (`_ui64toa_s(..., 16)`), and `IISMiddleware` (parses hex, closes it).

use super::module::token_handle;
use crate::request::Params;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Security::{GetTokenInformation, LookupAccountSidW, TokenUser, SID_NAME_USE, TOKEN_USER};

/// The user a token belongs to, as `DOMAIN\name`.
fn user_of(token: HANDLE) -> Option<String> {
    let mut needed = 0u32;
    // SAFETY: the size query of GetTokenInformation, then the call with a
    // buffer of that size; LookupAccountSidW with buffers it sized.
    unsafe {
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut needed);
        let mut buffer = vec![0u8; needed as usize];
        if GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), needed, &mut needed) == 0 {
            return None;
        }
        let sid = (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid;
        let (mut name, mut domain) = (vec![0u16; 256], vec![0u16; 256]);
        let (mut name_len, mut domain_len) = (name.len() as u32, domain.len() as u32);
        let mut kind: SID_NAME_USE = 0;
        let found = LookupAccountSidW(
            std::ptr::null(),
            sid,
            name.as_mut_ptr(),
            &mut name_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        );
        if found == 0 {
            return None;
        }
        let name = String::from_utf16_lossy(&name[..name_len as usize]);
        let domain = String::from_utf16_lossy(&domain[..domain_len as usize]);
        Some(if domain.is_empty() { name } else { format!("{domain}\\{name}") })
    }
}

/// `params` with REMOTE_USER set from the token header, if there is one;
/// the handle is closed either way.
pub fn with_remote_user(params: Params, header: Option<&[u8]>) -> Params {
    let Some(handle) = header.and_then(token_handle) else { return params };
    let token = handle as HANDLE;
    let user = user_of(token);
    // SAFETY: the module gave this process the handle to close.
    unsafe { CloseHandle(token) };
    let Some(user) = user else {
        tracing::warn!("the forwarded Windows token names no user; REMOTE_USER is unset");
        return params;
    };
    let mut pairs: Vec<(&[u8], &[u8])> = params.iter().collect();
    pairs.push((b"REMOTE_USER", user.as_bytes()));
    pairs.push((b"AUTH_TYPE", b"Negotiate"));
    Params::from_pairs(pairs)
}
