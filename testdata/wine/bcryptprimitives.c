/* Wine 8.0 lacks bcryptprimitives.dll, whose ProcessPrng Rust's standard
 * library imports, so every Rust exe fails to start under it (status
 * c0000135). This stand-in, placed next to the exe, forwards to
 * RtlGenRandom (SystemFunction036 in advapi32). Test scaffolding only:
 * see ../shared/reference/windows-wine-facts.md. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
