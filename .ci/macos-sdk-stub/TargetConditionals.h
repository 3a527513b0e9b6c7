/* Stand-in for the Apple SDK header of the same name, for `cargo check` only.
 *
 * ring's C sources include <TargetConditionals.h> on Apple targets to tell
 * macOS from iOS. Debian has no Apple SDK, so .ci/macos-check.sh puts this
 * folder on clang's include path. The objects built with it are never linked:
 * `cargo check` only needs ring's build script to succeed so that the Rust
 * code above it can be type-checked for macOS.
 */
#ifndef CPA_CI_TARGET_CONDITIONALS_H
#define CPA_CI_TARGET_CONDITIONALS_H
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#endif
