//! The mock appcmd (to come).
