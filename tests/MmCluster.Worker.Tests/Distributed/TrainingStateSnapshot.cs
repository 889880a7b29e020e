using MmCluster.Worker.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>Every byte of a rank's training state, by name, to compare ranks bit for bit.</summary>
internal static class TrainingStateSnapshot
{
    public static Dictionary<string, byte[]> Of(nn.Module model, StageOptimizer optimizer, Generator? generator)
    {
        var snapshot = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, tensor) in model.state_dict())
        {
            snapshot[name] = Bytes(tensor);
        }
        var states = ((IOptimizerState)optimizer).Optimizer.state_dict().State;
        for (var i = 0; i < optimizer.NamedParameters.Count; i++)
        {
            var state = (AdamW.State)states[i];
            var name = optimizer.NamedParameters[i].Name;
            snapshot[$"optim.{name}.exp_avg"] = Bytes(state.exp_avg);
            snapshot[$"optim.{name}.exp_avg_sq"] = Bytes(state.exp_avg_sq);
            snapshot[$"optim.{name}.step"] = BitConverter.GetBytes(state.step);
        }
        snapshot["step"] = BitConverter.GetBytes(optimizer.Step);
        using var rng = generator?.get_state() ?? random.get_rng_state();
        snapshot["rng"] = Bytes(rng);
        return snapshot;
    }

    /// <summary>The names whose bytes differ (or that only one side has).</summary>
    public static string[] Differences(Dictionary<string, byte[]> a, Dictionary<string, byte[]> b) =>
        [.. a.Keys.Union(b.Keys).Where(k => !a.TryGetValue(k, out var x) || !b.TryGetValue(k, out var y) || !x.AsSpan().SequenceEqual(y)).Order()];

    private static byte[] Bytes(Tensor tensor)
    {
        using var detached = tensor.detach();
        using var contiguous = detached.contiguous();
        return contiguous.bytes.ToArray();
    }
}
