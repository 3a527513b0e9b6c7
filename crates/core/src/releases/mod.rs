//! CLIProxyAPI releases: finding, downloading, verifying and installing them.
