using System.Diagnostics;
using Akka.Actor;
using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Cli.Bench;

/// <summary>
/// A light stand-in for a worker, for <c>bench coordinator</c>: it registers with the real RunActor, then pulls shards
/// (RequestShard -> ShardLeased, timing each lease), "trains" each for the nominal shard time +/- 20 %, completes it, and reports progress
/// about once a second, as the dashboard's feed expects from a real worker.
/// </summary>
internal sealed class SimulatedWorkerActor : ReceiveActor, IWithTimers
{
    private readonly string workerId;
    private readonly IActorRef run;
    private readonly TimeSpan shardTime;
    private readonly LeaseLatencies latencies;
    private long requestId;
    private long sentAt;
    private long step;
    private int epoch;
    private int rank;

    public SimulatedWorkerActor(string workerId, IActorRef run, TimeSpan shardTime, LeaseLatencies latencies)
    {
        this.workerId = workerId;
        this.run = run;
        this.shardTime = shardTime;
        this.latencies = latencies;
        Receive<StartGeneration>(HandleStart);
        Receive<ShardLeased>(HandleLeased);
        Receive<ShardDone>(HandleShardDone);
        Receive<NoShardAvailable>(busy => Timers.StartSingleTimer("retry", Retry.Instance, TimeSpan.FromMilliseconds(busy.RetryAfterMs)));
        Receive<Retry>(_ => RequestShard());
        Receive<EpochCompleted>(HandleEpochCompleted);
        Receive<Report>(_ => HandleReport());
        Receive<RunFinished>(_ => Context.Stop(Self));
        Receive<RunFailed>(_ => Context.Stop(Self));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string workerId, IActorRef run, TimeSpan shardTime, LeaseLatencies latencies) =>
        Akka.Actor.Props.Create(() => new SimulatedWorkerActor(workerId, run, shardTime, latencies));

    protected override void PreStart() =>
        run.Tell(new RegisterWorker { WorkerId = workerId, CollectiveAddress = $"http://sim/{workerId}", Device = "sim", Threads = 1 });

    private void HandleStart(StartGeneration start)
    {
        rank = start.Rank;
        // Spread the 1 s progress reports over the second, as independent workers would be.
        Timers.StartPeriodicTimer("report", Report.Instance, TimeSpan.FromMilliseconds(Random.Shared.Next(1000)), TimeSpan.FromSeconds(1));
        RequestShard();
    }

    private void RequestShard()
    {
        sentAt = Stopwatch.GetTimestamp();
        run.Tell(new RequestShard { WorkerId = workerId, Epoch = epoch, RequestId = ++requestId });
    }

    private void HandleLeased(ShardLeased leased)
    {
        latencies.Add(Stopwatch.GetElapsedTime(sentAt));
        // Shards take 80-120 % of the nominal time: real workers drift apart rather than ask in lockstep.
        Timers.StartSingleTimer("train", new ShardDone(leased), shardTime * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }

    private void HandleShardDone(ShardDone done)
    {
        step++;
        run.Tell(new ShardCompleted { WorkerId = workerId, Epoch = done.Shard.Epoch, ShardId = done.Shard.ShardId, RowsConsumed = done.Shard.ToShardSpec().ReadRows, Step = step });
        RequestShard();
    }

    private void HandleEpochCompleted(EpochCompleted completed)
    {
        epoch = completed.Epoch + 1;
        RequestShard();
    }

    private void HandleReport() => run.Tell(new ReportProgress
    {
        WorkerId = workerId, Rank = rank, Step = step, Epoch = epoch, Loss = 1.0 / (1 + step), SamplesPerSecond = 1000, StepTimeMs = 250, CollectiveTimeMs = 20,
    });

    private sealed record ShardDone(ShardLeased Shard);

    private sealed class Retry
    {
        public static readonly Retry Instance = new();

        private Retry() { }
    }

    private sealed class Report
    {
        public static readonly Report Instance = new();

        private Report() { }
    }
}
