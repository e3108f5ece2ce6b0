/** Node only: which Vulkan driver Dawn should use (browsers ignore it). */
export type NodeAdapterChoice = "auto" | "lavapipe" | "swiftshader" | "system";
