namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker process's gen0 GC budget. TorchSharp (0.107) converts numbers to native <c>Scalar</c>s implicitly, even
/// inside <c>a + b</c> (alpha 1) and its AdamW step, and keeps no reference to them while libtorch reads them: a GC in
/// that window lets the finalizer thread free the Scalar mid-call, and the step fails with "Expected false to be true"
/// (<c>toFloat</c>) in <c>THSTensor_add</c> (docs/fault-tolerance.md, "libtorch step failures"). The risk grows with the
/// number of GCs; with the runtime's default gen0 budget (a few MB) a worker collects every few seconds, with 256 MiB
/// about every few minutes. The budget can only be set before the runtime starts (environment, not runtimeconfig), so
/// whoever starts workers sets it: <c>mmcluster dev</c>, the worker image and the Kubernetes job.
/// </summary>
public static class GcBudget
{
    public const string Variable = "DOTNET_GCgen0size";

    /// <summary>256 MiB, in the hexadecimal form the runtime reads.</summary>
    public const string Value = "0x10000000";

    /// <summary>Adds the budget to a child worker's environment unless this process's environment or the caller already sets it.</summary>
    public static void AddTo(IDictionary<string, string> environment)
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            environment.TryAdd(Variable, Value);
        }
    }

    /// <summary>What the worker prints at start: the budget in effect, or a warning naming the variable.</summary>
    public static string Describe(string? configured) => configured is null
        ? $"warning: {Variable} is not set, so the GC runs every few seconds and a libtorch call may fail when it frees one of " +
          $"TorchSharp's implicit scalars (the step is then retried by recovery); set {Variable}={Value} (docs/fault-tolerance.md)"
        : $"gen0 GC budget {configured} ({Variable})";
}
