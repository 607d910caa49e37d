// The entry point of the `headers` test program. Its other TUs are generated from
// header_check.cpp.in, one per header, so each header is compiled alone; linking them into one
// program also catches a non-inline definition in any header (a duplicate symbol).
int main() { return 0; }
