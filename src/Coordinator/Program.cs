using System.CommandLine;
using MmCluster.Coordinator.Hosting;

namespace MmCluster.Coordinator;

/// <summary>
/// The coordinator's own executable (the container image without libtorch): <c>MmCluster.Coordinator coordinator
/// [flags]</c>, the same command, flags and <c>MMCLUSTER_*</c> variables as <c>mmcluster coordinator</c>.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("MmCluster coordinator: the seed node, shard ledger and dashboard of one run.")
        {
            CoordinatorCommand.Create(),
        };
        return await root.Parse(args).InvokeAsync();
    }
}
