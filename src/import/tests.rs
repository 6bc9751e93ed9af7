//! Import tests: picking the store, and tables that do not fit.
