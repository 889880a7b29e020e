using System.Text.Json;
using MmCluster.Collectives.Ring;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's <see cref="ITrainingSession"/> for a schedule of stages: every StartGeneration carries one stage's
/// <see cref="StageConfig"/>; the router creates that stage's trainer with the factory registered for its
/// <see cref="StageConfig.Kind"/> and hands it the generation. A kind nobody registered fails the worker, naming the stage,
/// the kind and the kinds it knows. On a worker whose <paramref name="device"/> is not the CPU, a stage whose kind was not
/// registered as running there (every built-in kind is; a kind registered without <c>anyDevice</c> is not) fails the
/// worker the same way, naming the stage, its kind and the device. Both calls come from the agent actor's mailbox, one at
/// a time.
/// </summary>
public sealed class StageSessionRouter(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu)
    : ITrainingSession
{
    private readonly Dictionary<string, StageSessionFactory> factories = new(StringComparer.Ordinal);
    private readonly HashSet<string> onAnyDevice = new(StringComparer.Ordinal);
    private ITrainingSession? current;

    /// <summary>A router that knows the kinds this assembly trains: <c>clip</c>, on any device.</summary>
    public static StageSessionRouter WithBuiltInKinds(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu) =>
        new StageSessionRouter(server, log, fail, device)
            .Register("clip", (s, l, f) => new ClipTrainingSession(s, l, f, device), anyDevice: true);

    public IReadOnlyCollection<string> Kinds => factories.Keys;

    /// <summary>The worker's device ("cpu", "cuda:0", ...).</summary>
    public string Device => device;

    /// <summary>Registers (or replaces) the trainer of stages of <paramref name="kind"/> (the spec's spelling, e.g. <c>lm</c>).</summary>
    /// <param name="anyDevice">True when the kind's trainer runs on the worker's device; false: on the CPU only.</param>
    public StageSessionRouter Register(string kind, StageSessionFactory factory, bool anyDevice = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        factories[kind] = factory;
        if (anyDevice)
        {
            onAnyDevice.Add(kind);
        }
        else
        {
            onAnyDevice.Remove(kind);
        }
        return this;
    }

    /// <summary>Why a stage of <paramref name="kind"/> cannot train on this worker's device; null when it can.</summary>
    public string? DeviceRefusal(string stage, string kind) =>
        device == DeviceChoice.Cpu || onAnyDevice.Contains(kind)
            ? null
            : $"stage '{stage}' has kind '{kind}', which trains on the CPU only so far, but this worker computes on {device} (--device): " +
              $"the kinds that run on a GPU are {string.Join(", ", onAnyDevice.Order(StringComparer.Ordinal))}; run this spec's workers with --device cpu (docs/gpu.md)";

    public void OnGenerationStarted(GenerationInfo generation, IControlPlane control)
    {
        if (current is StageTrainingSession session && session.Continues(generation.StageIndex))
        {
            // The next generation of the stage this worker trains (after a recovery): same session, same model.
            log($"stage {generation.StageIndex + 1}: generation {generation.Generation}, rank {generation.Rank} of {generation.WorldSize}");
            session.OnGenerationStarted(generation, control);
            return;
        }
        StageConfig config;
        try
        {
            config = StageConfig.FromJson(generation.StageConfig.Span);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            Fail(control, new InvalidDataException($"run {generation.RunId} generation {generation.Generation}: the stage config is not valid: {e.Message}", e));
            return;
        }
        if (!factories.TryGetValue(config.Kind, out var factory))
        {
            var known = factories.Count == 0 ? "none" : string.Join(", ", factories.Keys.Order(StringComparer.Ordinal));
            Fail(control, new NotSupportedException($"stage '{config.Stage}' has kind '{config.Kind}', which this worker cannot train (kinds it knows: {known})"));
            return;
        }
        if (DeviceRefusal(config.Stage, config.Kind) is { } refusal)
        {
            Fail(control, new NotSupportedException(refusal));
            return;
        }
        log($"stage {config.StageIndex + 1}/{config.StageCount} '{config.Stage}' ({config.Kind}): generation {generation.Generation}, rank {generation.Rank} of {generation.WorldSize}");
        current = factory(server, log, fail);
        current.OnGenerationStarted(generation, control);
    }

    public void OnGenerationAborted(long generation, string reason) => current?.OnGenerationAborted(generation, reason);

    public void OnGenerationDrain(long generation, long afterStep, string reason) => current?.OnGenerationDrain(generation, afterStep, reason);

    public void OnRunEnded(RunEnded ended) => current?.OnRunEnded(ended);

    /// <summary>Waits for the current stage's trainer thread (stopped by <see cref="OnRunEnded"/>) to end and free its model.</summary>
    /// <returns>False when it is still running after <paramref name="timeout"/>.</returns>
    public bool WaitForTrainer(TimeSpan timeout) => current is not StageTrainingSession session || session.WaitStopped(timeout);

    private void Fail(IControlPlane control, Exception error)
    {
        control.ReportFailed(error.Message);
        fail(error);
    }
}
