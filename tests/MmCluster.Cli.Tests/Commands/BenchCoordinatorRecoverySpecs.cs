using MmCluster.Cli.Bench;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>
/// <c>bench coordinator --failures N</c> at a small scale: the real RunActor and ShardLedgerActor recover from each kill,
/// and the ledger committed at the end covers exactly the rows the simulated workers' kept steps trained. What this
/// proves is the coordinator's bookkeeping (cursors, Recover, continued leases, completions rewound) against workers that
/// follow the protocol; it says nothing about the real worker's reader or trainer.
/// </summary>
public sealed class BenchCoordinatorRecoverySpecs
{
    [Fact]
    public async Task Should_recover_from_every_kill_with_an_exact_ledger_when_16_workers_lose_3()
    {
        var options = new RecoveryBenchOptions(Workers: 16, Failures: 3, Files: 50, RowGroupsPerFile: 10, RowsPerGroup: 1000,
            StepTime: TimeSpan.FromMilliseconds(50), Batch: 64, MeanGap: TimeSpan.FromMilliseconds(600), Seed: 7)
        {
            Settle = TimeSpan.FromSeconds(1),
        };

        var result = await RecoveryBench.RunAsync(options, TextWriter.Null, CancellationToken.None);

        Assert.Equal(500, result.Shards);
        Assert.Equal(3, result.Recoveries);
        Assert.All(result.Each, r => Assert.True(r.KeptStep > 0 && r.LeasesReturned > 0 && r.LedgerMs > 0, r.ToString()));
        Assert.True(result.RowsTrained > 0);
        Assert.Equal(0, result.DuplicateRows);
        Assert.Equal(0, result.LedgerDuplicates);
        Assert.True(result.LedgerMismatches == 0, string.Join("\n", result.Mismatches));
        Assert.Equal(result.RowsTrained, result.LedgerRowsCommitted);
    }
}
