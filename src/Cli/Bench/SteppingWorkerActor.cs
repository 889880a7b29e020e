using Akka.Actor;
using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Cli.Bench;

/// <summary>
/// A simulated worker that trains in steps, for <c>bench coordinator --failures N</c>: it registers (again when refused),
/// keeps two shard leases, and every step reads <c>batch</c> rows from them, sends
/// <see cref="StepStarted"/> with the cursor of every lease it read, records those rows (<see cref="TrainedRows"/>) and
/// waits at the generation's <see cref="SimulatedCollective"/>; once every rank arrived, the step is trained, shards it
/// finished are reported <see cref="ShardCompleted"/> and the next step follows after the step time. On
/// <see cref="AbortGeneration"/> it answers <see cref="GenerationAborted"/> with the last step it trained and waits; the
/// next <see cref="StartGeneration"/> (with <c>recovery</c>) continues from the kept step with fresh leases, as the real
/// agent does once the ledger took every lease back. The bench kills one by stopping it.
/// </summary>
internal sealed class SteppingWorkerActor : ReceiveActor, IWithTimers
{
    private const int LeasesAhead = 2;

    private readonly string workerId;
    private readonly IActorRef run;
    private readonly SimulatedWorld world;
    private readonly TimeSpan stepTime;
    private readonly int batch;
    private readonly List<Lease> leases = [];
    private readonly List<Lease> finishing = [];
    private SimulatedCollective? collective;
    private long generation;
    private long step;
    private long inFlight = -1;
    private int epoch;
    private int rank;
    private long requestId;
    private long firstValidRequest;
    private bool requesting;

    public SteppingWorkerActor(string workerId, IActorRef run, SimulatedWorld world, TimeSpan stepTime, int batch)
    {
        this.workerId = workerId;
        this.run = run;
        this.world = world;
        this.stepTime = stepTime;
        this.batch = batch;
        Receive<Register>(_ => HandleRegister());
        // A replacement that registers before the RunActor forgot the worker it replaces is refused: it tries again.
        Receive<RegistrationRejected>(_ => Timers.StartSingleTimer("register", Register.Instance, TimeSpan.FromMilliseconds(100)));
        Receive<StartGeneration>(HandleStart);
        Receive<ShardLeased>(HandleLeased);
        Receive<NoShardAvailable>(HandleNoShard);
        Receive<EpochCompleted>(HandleEpochCompleted);
        Receive<Retry>(_ => RequestShard());
        Receive<StepDue>(_ => HandleStepDue());
        Receive<StepTrained>(HandleStepTrained);
        Receive<AbortGeneration>(HandleAbort);
        Receive<Report>(_ => HandleReport());
        Receive<CheckpointCommitted>(_ => { });
        Receive<RunFinished>(_ => Context.Stop(Self));
        Receive<RunFailed>(_ => Context.Stop(Self));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string workerId, IActorRef run, SimulatedWorld world, TimeSpan stepTime, int batch) =>
        Akka.Actor.Props.Create(() => new SteppingWorkerActor(workerId, run, world, stepTime, batch));

    protected override void PreStart() => HandleRegister();

    private void HandleRegister() =>
        run.Tell(new RegisterWorker { WorkerId = workerId, CollectiveAddress = $"http://sim/{workerId}", Device = "sim", Threads = 1 });

    private void HandleStart(StartGeneration start)
    {
        if (start.Generation <= generation)
        {
            return;
        }
        Timers.Cancel("register");
        world.Started(start.Generation);
        generation = start.Generation;
        rank = start.Rank;
        collective = world.Collective(start.Generation, start.WorldSize);
        // The ledger took every lease back (RecoverLedger): leases held or still in flight are no longer ours.
        leases.Clear();
        finishing.Clear();
        firstValidRequest = requestId + 1;
        requesting = false;
        step = start.Recovery?.Step ?? 0;
        epoch = start.Recovery?.Epoch ?? 0;
        inFlight = -1;
        Timers.StartPeriodicTimer("report", Report.Instance, TimeSpan.FromMilliseconds(Random.Shared.Next(1000)), TimeSpan.FromSeconds(1));
        RequestShard();
        Timers.StartSingleTimer("step", StepDue.Instance, stepTime);
    }

    private void RequestShard()
    {
        if (requesting || leases.Count >= LeasesAhead || generation == 0)
        {
            return;
        }
        requesting = true;
        run.Tell(new RequestShard { WorkerId = workerId, Epoch = epoch, RequestId = ++requestId });
    }

    private void HandleLeased(ShardLeased leased)
    {
        if (leased.RequestId < firstValidRequest)
        {
            return;
        }
        requesting = false;
        var shard = leased.ToShardSpec();
        leases.Add(new Lease(leased.Epoch, leased.ShardId, leased.File, leased.FirstRow, shard.ReadEnd, shard.ReadStart));
        RequestShard();
    }

    private void HandleNoShard(NoShardAvailable busy)
    {
        if (busy.RequestId >= firstValidRequest)
        {
            // As the worker's feed does: the rest of this epoch is the others' (leased, or their share), read ahead.
            requesting = false;
            epoch = Math.Max(epoch, busy.Epoch + 1);
            RequestShard();
        }
    }

    private void HandleEpochCompleted(EpochCompleted completed)
    {
        if (completed.RequestId >= firstValidRequest)
        {
            requesting = false;
            epoch = Math.Max(epoch, completed.Epoch + 1);
            RequestShard();
        }
    }

    /// <summary>The step's compute is over: read its rows, tell the coordinator where the leases stand, enter the collective.</summary>
    private void HandleStepDue()
    {
        if (collective is null || inFlight >= 0)
        {
            return;
        }
        var next = step + 1;
        var started = new StepStarted { WorkerId = workerId, Generation = generation, Step = next };
        var need = batch;
        foreach (var lease in leases)
        {
            if (need == 0)
            {
                break;
            }
            var rows = (int)Math.Min(need, lease.End - lease.NextRow);
            world.Trained.Record(generation, next, lease.Epoch, lease.File, lease.FirstRow, lease.NextRow, lease.NextRow + rows);
            lease.NextRow += rows;
            lease.Trained += rows;
            need -= rows;
            started.Cursors.Add(new LeaseCursor { Epoch = lease.Epoch, ShardId = lease.ShardId, NextRow = lease.NextRow, Trained = lease.Trained });
        }
        finishing.AddRange(leases.Where(l => l.NextRow == l.End));
        leases.RemoveAll(l => l.NextRow == l.End);
        inFlight = next;
        run.Tell(started);
        collective.Arrive(next, Self);
    }

    private void HandleStepTrained(StepTrained trained)
    {
        if (trained.Generation != generation || trained.Step != inFlight)
        {
            return;
        }
        step = trained.Step;
        inFlight = -1;
        foreach (var lease in finishing)
        {
            run.Tell(new ShardCompleted
            {
                WorkerId = workerId, Epoch = lease.Epoch, ShardId = lease.ShardId, RowsConsumed = lease.Trained, Step = step, Generation = generation,
            });
        }
        finishing.Clear();
        RequestShard();
        Timers.StartSingleTimer("step", StepDue.Instance, stepTime);
    }

    private void HandleAbort(AbortGeneration abort)
    {
        if (abort.Generation != generation)
        {
            return;
        }
        // The step in flight (if any) is lost with the generation; the last trained one is kept.
        Timers.Cancel("step");
        inFlight = long.MaxValue;
        run.Tell(new GenerationAborted { WorkerId = workerId, Generation = generation, CompletedStep = step, Reason = abort.Reason });
    }

    private void HandleReport() => run.Tell(new ReportProgress
    {
        WorkerId = workerId, Rank = rank, Step = step, Epoch = epoch, Loss = 1.0 / (1 + step), SamplesPerSecond = batch / stepTime.TotalSeconds,
        StepTimeMs = stepTime.TotalMilliseconds, CollectiveTimeMs = 1,
    });

    private sealed class Lease(int epoch, int shardId, string file, long firstRow, long end, long nextRow)
    {
        public int Epoch { get; } = epoch;
        public int ShardId { get; } = shardId;

        /// <summary>The plan shard's file and first row (a piece of a split shard names the shard it was cut from).</summary>
        public string File { get; } = file;
        public long FirstRow { get; } = firstRow;
        public long End { get; } = end;
        public long NextRow { get; set; } = nextRow;

        /// <summary>Rows trained since the lease began (what its cursors and its completion count).</summary>
        public long Trained { get; set; }
    }

    private sealed class Register
    {
        public static readonly Register Instance = new();

        private Register() { }
    }

    private sealed class StepDue
    {
        public static readonly StepDue Instance = new();

        private StepDue() { }
    }

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
