// Storage element type of the kernel's float tensors: ELEM is f32 or f16 (set by the op's dtype key).
// Math runs in f32 either way; `elem` is only how values are stored.
#if F16
enable f16;
#endif
alias elem = ELEM;
