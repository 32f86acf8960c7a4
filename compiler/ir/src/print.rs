//! The text form of a program (`cbpc compile --emit ir`): stable, one node per line, for
//! review and snapshot tests.
