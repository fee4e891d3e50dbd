//! The Windows side of the access check: the effective rights a file's
//! DACL grants the application pool's identity (GetEffectiveRightsFromAclW,
//! which counts the groups the DACL names that the account is in), and
//! the icacls command that grants what is missing.

use super::identity::Rights;
use super::{Finding, Need};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use windows_sys::Win32::Foundation::{LocalFree, ERROR_INSUFFICIENT_BUFFER, ERROR_SUCCESS};
use windows_sys::Win32::Security::Authorization::{
    GetEffectiveRightsFromAclW, GetNamedSecurityInfoW, NO_MULTIPLE_TRUSTEE, SE_FILE_OBJECT, TRUSTEE_IS_SID,
    TRUSTEE_IS_UNKNOWN, TRUSTEE_W,
};
use windows_sys::Win32::Security::{LookupAccountNameW, ACL, DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR};

fn wide(text: &std::ffi::OsStr) -> Vec<u16> {
    text.encode_wide().chain(std::iter::once(0)).collect()
}

/// The account's SID, as bytes.
fn sid_of(account: &str) -> io::Result<Vec<u8>> {
    let name = wide(account.as_ref());
    let (mut sid_len, mut domain_len, mut kind) = (0u32, 0u32, 0);
    // SAFETY: a size query: null buffers with zero lengths.
    unsafe {
        LookupAccountNameW(
            std::ptr::null(),
            name.as_ptr(),
            std::ptr::null_mut(),
            &mut sid_len,
            std::ptr::null_mut(),
            &mut domain_len,
            &mut kind,
        )
    };
    let error = io::Error::last_os_error();
    if error.raw_os_error() != Some(ERROR_INSUFFICIENT_BUFFER as i32) {
        return Err(error);
    }
    let mut sid = vec![0u8; sid_len as usize];
    let mut domain = vec![0u16; domain_len as usize];
    // SAFETY: buffers of the sizes the first call asked for.
    let found = unsafe {
        LookupAccountNameW(
            std::ptr::null(),
            name.as_ptr(),
            sid.as_mut_ptr().cast(),
            &mut sid_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    if found == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sid)
}

/// The access mask `path`'s DACL grants the SID.
fn effective_rights(path: &Path, sid: &mut [u8]) -> io::Result<u32> {
    let name = wide(path.as_os_str());
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: valid out-pointers; the descriptor is freed below.
    let status = unsafe {
        GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut descriptor,
        )
    };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let trustee = TRUSTEE_W {
        pMultipleTrustee: std::ptr::null_mut(),
        MultipleTrusteeOperation: NO_MULTIPLE_TRUSTEE,
        TrusteeForm: TRUSTEE_IS_SID,
        TrusteeType: TRUSTEE_IS_UNKNOWN,
        ptstrName: sid.as_mut_ptr().cast(),
    };
    let mut mask = 0u32;
    // SAFETY: the DACL lives in `descriptor`, which is still allocated.
    let status = unsafe { GetEffectiveRightsFromAclW(dacl, &trustee, &mut mask) };
    // SAFETY: allocated by GetNamedSecurityInfoW for the caller to free.
    unsafe { LocalFree(descriptor) };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    Ok(mask)
}

/// One finding per need, for `account` (`IIS AppPool\<pool>`, ...).
pub fn check(account: &str, needs: &[Need]) -> Vec<Finding> {
    let mut sid = match sid_of(account) {
        Ok(sid) => sid,
        Err(err) => {
            return vec![Finding::error(
                "access",
                format!("the account {account} is not known to Windows: {err}"),
                "check the pool's identity in IIS Manager (Application Pools → Advanced Settings → Identity)",
            )]
        }
    };
    needs
        .iter()
        .map(|need| {
            let rights = if need.write { Rights::Write } else { Rights::ReadExecute };
            let wanted = if need.write { "modify" } else { "read and execute" };
            match effective_rights(&need.path, &mut sid) {
                Ok(mask) if rights.granted_by(mask) => {
                    Finding::ok("access", format!("{account} may {wanted} {} ({})", need.path.display(), need.what))
                }
                Ok(mask) => Finding::error(
                    "access",
                    format!("{account} may not {wanted} {} ({}; granted {mask:#x})", need.path.display(), need.what),
                    rights.grant(account, &need.path.display().to_string(), need.path.is_dir()),
                ),
                Err(err) => Finding::error(
                    "access",
                    format!("cannot read the permissions of {}: {err}", need.path.display()),
                    "run the doctor as an administrator",
                ),
            }
        })
        .collect()
}
