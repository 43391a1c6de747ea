import CSupport

/// How the process's allocator treats memory it frees.
public enum ProcessMemory {
    /// From now on, freed memory stays in the process for later allocations instead of
    /// going back to the kernel. glibc otherwise gives every large array its own mapping,
    /// unmapped when freed, so the next one faults in fresh zeroed pages again: the train,
    /// score and segment stages allocate and free hundreds of megabytes of columns and
    /// designs each. The cost is that the peak no longer falls between stages, so it is
    /// turned on only once the run's largest allocation is made: by the features stage
    /// after its sums (its three snapshots then share one set of pages), and by `Runner`
    /// before each later stage of a run whose features stage it ran
    /// (`RunSpeedUps.keepsFreedMemory`).
    public static func keepFreedMemory() { retain_keep_freed_memory() }

    /// Gives memory the process has freed but kept (glibc keeps blocks up to 32 MiB once
    /// it has seen blocks that large freed) back to the kernel. Before the run's largest
    /// stage, so that its peak is its own, not its own plus what the stage before left.
    public static func returnFreedMemory() { retain_return_freed_memory() }

    /// Undoes `keepFreedMemory`: what is kept goes back now, and the per-customer arrays
    /// freed from now on go back as they are freed. For a stage that is the largest of its
    /// process (see `RunSpeedUps.keepsFreedMemory`).
    public static func returnFreedMemoryFromNow() { retain_return_freed_memory_from_now() }
}
