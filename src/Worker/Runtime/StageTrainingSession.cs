using System.Collections.Concurrent;
using System.Diagnostics;
using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for one stage of any kind, on its own thread (the agent actor's mailbox never blocks): opens the
/// gRPC collective group with its peers, lets the kind build its model and trainer (<see cref="CreateTrainerAsync"/>:
/// init weights, frozen parts, rank 0's weights broadcast, a resumed checkpoint), pulls shards through the control plane,
/// trains, evaluates and checkpoints on schedule (commit protocol), reports progress and TensorBoard scalars, and tells
/// the coordinator when it is done. One instance trains one stage, over one or more generations: when a generation is
/// aborted (a peer was lost, the coordinator said so) on an error a new generation can cure, the session keeps its model,
/// optimizer and manifest reader, reports the step it completed and waits for the next generation of the same stage, in
/// which every rank takes the training state of the rank the coordinator names (docs/fault-tolerance.md). Any other error
/// ends this worker (<paramref name="fail"/>), and the coordinator stops the run naming it.
/// </summary>
public abstract class StageTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail) : ITrainingSession
{
    private readonly CancellationTokenSource stop = new();
    private readonly BlockingCollection<GenerationInfo> generations = new();
    private readonly object gate = new();
    private readonly ProcessMemory memory = new(log);
    private Thread? thread;
    private GenerationRun? running;
    private (long Generation, long AfterStep, string Reason)? pendingDrain;

    public void OnGenerationStarted(GenerationInfo generation, IControlPlane control)
    {
        if (thread is not null)
        {
            generations.Add(generation);   // the next generation of this stage, after a recovery
            return;
        }
        thread = new Thread(() => Run(generation, control)) { Name = "trainer", IsBackground = true };
        thread.Start();
    }

    public void OnGenerationAborted(long generation, string reason)
    {
        lock (gate)
        {
            if (running is { } current && current.Generation == generation)
            {
                current.Abort(reason);
            }
        }
    }

    public void OnGenerationDrain(long generation, long afterStep, string reason)
    {
        lock (gate)
        {
            if (running is { } current && current.Generation == generation)
            {
                current.Drain(afterStep, reason);
            }
            else
            {
                pendingDrain = (generation, afterStep, reason);   // the trainer thread has not begun this generation yet
            }
        }
    }

    /// <summary>Whether this session trains the stage <paramref name="stageIndex"/> and waits for its next generation.</summary>
    public bool Continues(int stageIndex) => thread is not null && StageIndex == stageIndex && !Ended;

    /// <summary>The stage this session trains (the schedule index of its first generation's config).</summary>
    public int StageIndex { get; private set; } = -1;

    private bool Ended { get; set; }

    /// <summary>Waits for the trainer thread to end (after <see cref="OnRunEnded"/>); true when it has, or never started.</summary>
    public bool WaitStopped(TimeSpan timeout) => thread?.Join(timeout) ?? true;

    public void OnRunEnded(RunEnded ended)
    {
        stop.Cancel();
        generations.CompleteAdding();
    }

    /// <summary>
    /// Builds this kind's model and trainer for the stage (called on the trainer thread, the group open), through
    /// <see cref="StageTrainer{TModel,TStep}.Build"/>.
    /// </summary>
    private protected abstract Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct);

    /// <summary>The stage's optimizer settings as the trainers take them.</summary>
    internal static TrainOptions OptionsOf(StageConfig config) => new()
    {
        LearningRate = config.LearningRate,
        WarmupSteps = (int)config.WarmupSteps,
        TotalSteps = (int)config.TotalSteps,
        WeightDecay = config.WeightDecay,
        Beta1 = config.Beta1,
        Beta2 = config.Beta2,
        Eps = config.Eps,
        MaxGradNorm = config.GradClip,
        ComputeType = config.Precision == StagePrecision.Bf16Mixed ? TorchSharp.torch.ScalarType.BFloat16 : null,
    };

    /// <summary>
    /// The staging of a trainer on the worker's <paramref name="device"/> (<see cref="HostStaging"/>; nothing staged on the
    /// CPU): the kind moves its model there before its optimizer exists and hands it to its step, its feature gatherer
    /// and its recipe (broadcast and gradient averaging), which owns it from then on.
    /// </summary>
    internal static HostStaging StagingFor(string device, Action<string> log)
    {
        var staging = HostStaging.For(device);
        if (staging.Stages)
        {
            log($"training on {device}: batches copied from page-locked host memory without blocking, collective payloads staged through kept page-locked host buffers");
        }
        return staging;
    }

    /// <summary>Says so when the stage trains in bf16-mixed (every kind's trainer, when it is built).</summary>
    internal static void LogPrecision(StageConfig config, Action<string> log)
    {
        if (config.Precision == StagePrecision.Bf16Mixed)
        {
            log("precision bf16-mixed: the forward's matrix products in bfloat16 (frozen parts included); weights, gradients and optimizer state float32");
        }
    }

    /// <summary>Sums <paramref name="values"/> over the ranks of the stage's group (in place) and returns them.</summary>
    internal static float[] SumOverRanks(ICollectiveGroup group, float[] values)
    {
        TensorCollectives.Wait(() => group.AllReduceAsync(values, ReduceOp.Sum));
        return values;
    }

    /// <summary>
    /// Whether a generation that failed with <paramref name="error"/> can be continued by the next one: a collective that
    /// broke (a peer lost, silent or aborting), the generation aborted on purpose, a control-plane call cut by the abort.
    /// A bad spec, weights that do not fit or a corrupt manifest cannot, and fail the worker.
    /// </summary>
    /// <summary>The first managed frames of an exception's stack, on one line (the native message is logged apart).</summary>
    internal static string ManagedFrames(Exception error, int frames = 12) =>
        string.Join(" <- ", (error.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(frames));

    internal static bool Recoverable(Exception error, bool aborted) =>
        aborted || error is CollectiveException || error is GenerationAbortedException || error is GenerationDrainedException || error is StepFailedException
        || error.InnerException is { } inner && Recoverable(inner, false);

    private void Run(GenerationInfo first, IControlPlane control)
    {
        IStageTrainer? trainer = null;
        TimedCollectiveGroup? group = null;
        StageConfig? config = null;
        ParquetManifestReader? manifest = null;
        var generation = first;
        try
        {
            config = StageConfig.FromJson(generation.StageConfig.Span);
            StageIndex = config.StageIndex;
            torch.set_num_threads(Math.Max(1, config.Threads));
            torch.manual_seed(config.Seed);
            manifest = config.OpenManifest(config.TrainSplit);
            while (true)
            {
                var run = new GenerationRun(generation, stop.Token);
                lock (gate)
                {
                    running = run;
                    if (pendingDrain is { } drain && drain.Generation == run.Generation)
                    {
                        run.Drain(drain.AfterStep, drain.Reason);
                    }
                    pendingDrain = null;
                }
                try
                {
                    var step = TrainAsync(run, control, config, manifest, ref trainer, ref group);
                    control.ReportFinished(step);
                    log($"finished {config.Stage} at step {step}");
                    return;
                }
                catch (Exception e) when (!stop.IsCancellationRequested && Recoverable(e, run.Aborted))
                {
                    var completed = trainer?.Step ?? -1;
                    log($"generation {generation.Generation} stopped at step {completed}: {e.Message}");
                    if (e is not GenerationDrainedException)
                    {
                        // A drained rank leaves its group as it is: a slower peer may still be finishing the drain's step on it.
                        (group?.Inner as GrpcCollectiveGroup)?.Abort(e.Message);
                    }
                    control.ReportAborted(generation.Generation, completed, e.Message, CollectiveException.LostPeerOf(e));
                }
                finally
                {
                    run.Dispose();
                }
                if (!TryNextGeneration(out generation))
                {
                    log("trainer stopped: the run ended while waiting for the next generation");
                    return;
                }
            }
        }
        catch (Exception e) when (stop.IsCancellationRequested || e is RunEndedException || e.InnerException is RunEndedException)
        {
            // The run ended for this worker (the coordinator finished or failed it, or was lost): not this trainer's failure.
            log($"trainer stopped: {e.Message}");
        }
        catch (Exception e)
        {
            control.ReportFailed(e.Message, CollectiveException.LostPeerOf(e));
            fail(e);
        }
        finally
        {
            Ended = true;
            trainer?.Dispose();
            if (group is not null)
            {
                group.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            manifest?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private bool TryNextGeneration(out GenerationInfo next)
    {
        try
        {
            next = generations.Take(stop.Token);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            next = null!;
            return false;
        }
    }

    /// <returns>The step the stage ended at.</returns>
    private long TrainAsync(GenerationRun run, IControlPlane control, StageConfig config, ParquetManifestReader manifest,
        ref IStageTrainer? trainer, ref TimedCollectiveGroup? group)
    {
        var generation = run.Info;
        var ct = run.Token;
        var peers = generation.Peers.OrderBy(p => p.Rank).Select(p => p.CollectiveAddress).ToList();
        var options = server.GroupOptions(generation.RunId, generation.Generation, generation.Rank, peers);
        var ring = GrpcCollectiveGroup.Create(config.CollectiveDeadline is { } deadline ? options with { OperationDeadline = deadline } : options, server);
        if (group is null)
        {
            group = new TimedCollectiveGroup(ring);
        }
        else
        {
            var previous = group.Replace(ring);
            previous.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        run.Attach(ring);
        var recovery = generation.Recovery;
        if (trainer is null)
        {
            // The stage's first generation, or a replacement joining a running stage (its state comes from the source).
            var context = new StageContext(generation, config, group, log) { Joining = recovery is not null };
            trainer = CreateTrainerAsync(context, ct).GetAwaiter().GetResult();
        }
        var startEpoch = trainer.StartEpoch;
        if (recovery is not null)
        {
            var moved = Stopwatch.GetTimestamp();
            var before = trainer.Step;
            try
            {
                trainer.TransferState(group, recovery.SourceRank);
            }
            catch when (before != recovery.Step)
            {
                // Half-received: this rank's state is now a mix of two steps and must not be anyone's source.
                trainer.Dispose();
                trainer = null;
                throw;
            }
            if (trainer.Step != recovery.Step)
            {
                throw new InvalidOperationException(
                    $"generation {generation.Generation}: rank {recovery.SourceRank} sent the state of step {trainer.Step}, the coordinator kept step {recovery.Step}");
            }
            startEpoch = recovery.Epoch;
            log($"generation {generation.Generation}: rank {generation.Rank} of {generation.WorldSize} continues at step {trainer.Step} " +
                $"with rank {recovery.SourceRank}'s state ({Stopwatch.GetElapsedTime(moved).TotalMilliseconds:0} ms)");
        }
        return StartFeed(run, control, config, manifest, trainer, group, ring, startEpoch);
    }

    private long StartFeed(GenerationRun run, IControlPlane control, StageConfig config, ParquetManifestReader manifest,
        IStageTrainer trainer, TimedCollectiveGroup group, GrpcCollectiveGroup ring, int startEpoch)
    {
        var checkpoints = new CheckpointStore(Path.Combine(config.RunDirectory, "checkpoints", config.Stage));
        var tracker = new LeaseTracker();
        var batchSize = config.RowsPerRank(run.Info.WorldSize, run.Info.Rank);
        var feed = new ShardBatchFeed(control, manifest,
            trainer.Batches, tracker, batchSize, config.TotalSteps - trainer.Step, startEpoch, log: log, decodeThreads: config.DecodeThreads);
        try
        {
            return TrainGeneration(run, control, config, trainer, group, ring, feed, tracker, checkpoints, startEpoch);
        }
        finally
        {
            feed.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private long TrainGeneration(GenerationRun run, IControlPlane control, StageConfig config, IStageTrainer trainer,
        TimedCollectiveGroup group, GrpcCollectiveGroup ring, ShardBatchFeed feed, LeaseTracker tracker, CheckpointStore checkpoints,
        int startEpoch)
    {
        var generation = run.Info;
        var ct = run.Token;

        var progress = new ProgressMeter(group);
        // TensorBoard scalars (rank 0 only): loss, lr, throughput, evaluations, under <run>/tensorboard/<stage>.
        var board = generation.Rank == 0
            ? torch.utils.tensorboard.SummaryWriter(Path.Combine(config.RunDirectory, "tensorboard", config.Stage))
            : null;
        IReadOnlyDictionary<string, double> lastEval = new Dictionary<string, double>();
        var lanesLogged = generation.Peers.Count < 2;
        if (trainer.Step == config.TotalSteps && generation.Recovery is not null)
        {
            // The last step was trained before the failure but the stage's final evaluation and commit were not done.
            lastEval = trainer.Evaluate();
            CommitAsync(control, checkpoints, trainer, config, generation.Rank, trainer.Step, startEpoch, ct).GetAwaiter().GetResult();
        }
        while (trainer.Step < config.TotalSteps)
        {
            var waitStart = Stopwatch.GetTimestamp();
            var batch = feed.Next(ct);
            var dataMs = Stopwatch.GetElapsedTime(waitStart).TotalMilliseconds;
            if (run.DrainAfter is { } drainAfter && trainer.Step >= drainAfter)
            {
                // The world grows: stop at this step boundary, before the next step's first report or collective (the
                // batch's rows were never reported started, so the ledger hands them out again).
                throw new GenerationDrainedException($"generation {generation.Generation} drained after step {trainer.Step}: {run.DrainReason}");
            }
            // Where this step leaves its leases, told before its first collective: a recovery keeps or drops it whole.
            var consumed = tracker.Consume(batch.Count);
            control.ReportStepStarted(generation.Generation, trainer.Step + 1, consumed.Cursors);
            StageStepResult result;
            try
            {
                result = trainer.Train(batch);
            }
            catch (System.Runtime.InteropServices.ExternalException e)
            {
                // libtorch failed inside the step (before the optimizer update, which has no collective after it): the
                // weights are those of the last completed step, so a new generation can retry it. A rare native fault of
                // this kind (c10 "Expected false to be true" in Scalar::toFloat) once ended a BLIP-2 run, and hit each of the
                // three instruction-recipe runs once (docs/benchmarks.md): the managed frames name the call that failed.
                log($"step {trainer.Step + 1} failed in libtorch; managed frames: {ManagedFrames(e)}");
                throw new StepFailedException($"step {trainer.Step + 1} failed in libtorch: {e.Message}", e);
            }
            if (!lanesLogged)
            {
                lanesLogged = true;
                log($"collective lanes: {ring.TransportSummary}");
            }
            foreach (var done in consumed.Done)
            {
                control.CompleteShard(done.Lease, done.Rows, result.Step, done.Skipped, generation.Generation);
            }
            progress.Add(batch.Count, dataMs);
            var step = result.Step;
            var last = step == config.TotalSteps;
            if (config.EvalEvery > 0 && step % config.EvalEvery == 0 || last)
            {
                lastEval = trainer.Evaluate();
                log($"step {step}: eval {string.Join(", ", lastEval.Select(kv => $"{kv.Key}={kv.Value:0.####}"))}");
                foreach (var (key, value) in lastEval)
                {
                    board?.add_scalar($"eval/{key}", (float)value, (int)step);
                }
            }
            if (progress.Due || last)
            {
                var report = progress.Report(step, feed.CurrentEpoch, result.Loss);
                report.Lr = result.LearningRate;
                report.GradNorm = result.GradNorm;
                report.Samples = step * batch.Count;   // this rank's share now (it changes when a recovery changes the world)
                report.SkippedRows = feed.SkippedRows;
                trainer.StepMetrics.CopyTo(report);
                report.Host = Environment.MachineName;
                report.Lanes.AddRange(ring.Lanes.Select(lane => lane.ToString()));
                report.Memory = memory.Read();
                foreach (var (key, value) in result.Losses)
                {
                    report.Losses[key] = value;
                    board?.add_scalar($"train/loss_{key}", value, (int)step);
                }
                foreach (var (key, value) in lastEval)
                {
                    report.Eval[key] = value;
                }
                control.ReportProgress(report);
                board?.add_scalar("train/loss", result.Loss, (int)step);
                board?.add_scalar("train/lr", (float)result.LearningRate, (int)step);
                board?.add_scalar("train/samples_per_s_rank0", (float)report.SamplesPerSecond, (int)step);
            }
            if (config.CheckpointEvery > 0 && step % config.CheckpointEvery == 0 || last)
            {
                CommitAsync(control, checkpoints, trainer, config, generation.Rank, step, feed.CurrentEpoch, ct).GetAwaiter().GetResult();
            }
        }
        return trainer.Step;
    }

    /// <summary>
    /// One generation of the stage on this worker: its token, cancelled when the coordinator aborts it (which also breaks
    /// its collective group, so a step blocked on a peer returns at once).
    /// </summary>
    private sealed class GenerationRun(GenerationInfo info, CancellationToken stop) : IDisposable
    {
        private readonly CancellationTokenSource cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        private GrpcCollectiveGroup? ring;
        private string? abortReason;
        private bool disposed;

        public GenerationInfo Info { get; } = info;

        public long Generation => Info.Generation;

        public CancellationToken Token => cts.Token;

        public bool Aborted => Volatile.Read(ref abortReason) is not null;

        private long drainAfter = -1;

        /// <summary>The step after which the coordinator asked this generation to stop (a grow), or null.</summary>
        public long? DrainAfter => Interlocked.Read(ref drainAfter) is var step and >= 0 ? step : null;

        public string DrainReason { get; private set; } = "";

        public void Drain(long afterStep, string reason)
        {
            DrainReason = reason;
            Interlocked.Exchange(ref drainAfter, Math.Max(0, afterStep));
        }

        public void Attach(GrpcCollectiveGroup group)
        {
            ring = group;
            if (abortReason is { } reason)
            {
                group.Abort(reason);
            }
        }

        public void Abort(string reason)
        {
            lock (this)
            {
                // The coordinator's abort may arrive after this worker stopped the generation on its own.
                if (disposed)
                {
                    return;
                }
                Volatile.Write(ref abortReason, reason);
                ring?.Abort(reason);
                cts.Cancel();
            }
        }

        public void Dispose()
        {
            lock (this)
            {
                disposed = true;
                cts.Dispose();
            }
        }
    }

    /// <summary>The stage's inputs, kept in each of its checkpoints: which stage this is and where its weights came from.</summary>
    internal static IReadOnlyDictionary<string, string> StageRecord(StageConfig config) => new Dictionary<string, string>
    {
        ["run_id"] = config.RunId,
        ["stage"] = config.Stage,
        ["kind"] = config.Kind,
        ["preset"] = config.Preset,
        ["init"] = string.Join(";", config.Init.Select(i => $"{i.From}={i.Checkpoint}")),
        ["freeze"] = string.Join(";", config.Freeze),
    };

    /// <summary>Rank 0 writes weights + optimizer + RNG; every rank votes; the committed ledger is stored beside them.</summary>
    private static async Task CommitAsync(
        IControlPlane control, CheckpointStore store, IStageTrainer trainer, StageConfig config,
        int rank, long step, int epoch, CancellationToken ct)
    {
        var path = Path.Combine(store.Directory, CheckpointStore.FileName(step));
        if (rank == 0)
        {
            Directory.CreateDirectory(store.Directory);
            trainer.Save(store, new CheckpointMetadata(step, epoch, config.Seed) { Extra = StageRecord(config) });
        }
        var commit = await control.CommitCheckpointAsync(step, path, ct);
        if (rank == 0)
        {
            var ledgerPath = LedgerSidecar.PathFor(path);
            var tmp = ledgerPath + ".tmp";
            await File.WriteAllBytesAsync(tmp, commit.Ledger.ToArray(), ct);
            File.Move(tmp, ledgerPath, overwrite: true);
        }
    }
}
