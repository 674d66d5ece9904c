// PTDB_EXPORT marks the library's public entry points. The library is compiled with
// hidden visibility so that its internals stay out of the shared library's symbol table
// (and cannot clash with a user's symbols); only what carries this mark is exported.
// Usable from C and C++ (in C++ it is a standard attribute, so it combines with others
// such as [[nodiscard]]).
#ifndef PTDB_EXPORT_H_
#define PTDB_EXPORT_H_

#if defined(__cplusplus) && (defined(__GNUC__) || defined(__clang__))
#define PTDB_EXPORT [[gnu::visibility("default")]]
#elif defined(__GNUC__) || defined(__clang__)
#define PTDB_EXPORT __attribute__((visibility("default")))
#else
#define PTDB_EXPORT
#endif

#endif  // PTDB_EXPORT_H_
