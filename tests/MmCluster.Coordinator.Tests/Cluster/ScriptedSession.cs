using System.Text;
using MmCluster.Coordinator.Actors;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Worker.Actors;

namespace MmCluster.Coordinator.Tests.Cluster;

/// <summary>
/// Stands in for the trainer: for each (epoch, delay) it pulls shards until the epoch is done (asking again after
/// <see cref="RetryAfter"/> while the rest of the epoch is leased to others), "trains" each for
/// <c>delay</c> ms, reports it, then votes a commit at the same step on every rank (ranks step in lockstep in a real
/// run), and reports the run finished. Everything it does is said as a tagged line.
/// </summary>
internal sealed class ScriptedSession(IReadOnlyList<(int Epoch, int DelayMs)> epochs, Action<string> say) : ITrainingSession
{
    /// <summary>The ledger's own retry delay, as the agent waited before it stopped retrying for the trainer.</summary>
    private static readonly TimeSpan RetryAfter = TimeSpan.FromMilliseconds(ShardLedgerActor.RetryAfterMs);

    private readonly CancellationTokenSource stop = new();

    public void OnGenerationStarted(GenerationInfo generation, IControlPlane control)
    {
        var peers = string.Join(',', generation.Peers.Select(p => $"{p.Rank}:{p.WorkerId}@{p.CollectiveAddress}"));
        say($"GENERATION rank={generation.Rank} world={generation.WorldSize} peers={peers} stage={Encoding.UTF8.GetString(generation.StageConfig.Span)}");
        _ = Task.Run(() => TrainAsync(control, stop.Token));
    }

    public void OnGenerationAborted(long generation, string reason)
    {
    }

    public void OnRunEnded(RunEnded ended)
    {
        say($"RUN-ENDED {(ended.Succeeded ? "ok" : "failed")} {ended.Reason}");
        stop.Cancel();
    }

    private async Task TrainAsync(IControlPlane control, CancellationToken cancellationToken)
    {
        try
        {
            var step = 0L;
            foreach (var (epoch, delay) in epochs)
            {
                step = epoch * 1000L;
                while (await control.TryNextShardAsync(epoch, cancellationToken) is { } offer && (offer.Lease is not null || offer.AllLeased))
                {
                    if (offer.Lease is not { } lease)
                    {
                        await Task.Delay(RetryAfter, cancellationToken);
                        continue;
                    }
                    await Task.Delay(delay, cancellationToken);
                    control.CompleteShard(lease, lease.Shard.RowCount, ++step);
                    control.ReportProgress(new ReportProgress
                    {
                        Step = step, Epoch = epoch, Loss = 1.0 / step, SamplesPerSecond = 100, StepTimeMs = delay, CollectiveTimeMs = 1,
                    });
                    say($"SHARD epoch={epoch} id={lease.Shard.ShardId}");
                }
                step = (epoch + 1) * 1000L;
                var commit = await control.CommitCheckpointAsync(step, $"ckpt-epoch-{epoch}", cancellationToken);
                say($"COMMITTED epoch={epoch} step={commit.Step} ledger-bytes={commit.Ledger.Length}");
            }
            control.ReportFinished(step);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RunEndedException)
        {
            say($"TRAINER stopped: {ex.Message}");
        }
    }
}
