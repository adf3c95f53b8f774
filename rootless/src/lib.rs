//! rootless: an OCI runtime as a library, for root and for ordinary users.
