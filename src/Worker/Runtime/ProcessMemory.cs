using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Reads this worker process's memory for its progress reports: the resident set size now and its peak from
/// <c>/proc/self/status</c> (<see cref="ProcStatusMemory"/>; absent where there is no /proc or it cannot be read) and the
/// .NET managed heap. Host memory only: TorchSharp 0.107 has no CUDA memory statistics, so a CUDA device's memory is
/// not among them. Each distinct problem is logged once.
/// </summary>
public sealed class ProcessMemory(Action<string> log, string statusPath = ProcessMemory.SelfStatus)
{
    public const string SelfStatus = "/proc/self/status";

    private readonly HashSet<string> logged = [];

    public WorkerMemory Read()
    {
        var memory = new WorkerMemory { ManagedHeapBytes = GC.GetGCMemoryInfo().HeapSizeBytes };
        ProcStatusMemory status;
        try
        {
            status = ProcStatusMemory.Parse(File.ReadAllText(statusPath), statusPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            status = new ProcStatusMemory(null, null, [$"cannot read {statusPath} ({e.Message}): the resident set size is not reported"]);
        }
        if (status.ResidentBytes is { } resident)
        {
            memory.ResidentBytes = resident;
        }
        if (status.PeakResidentBytes is { } peak)
        {
            memory.PeakResidentBytes = peak;
        }
        foreach (var problem in status.Problems.Where(logged.Add))
        {
            log($"memory report: {problem}");
        }
        return memory;
    }
}
