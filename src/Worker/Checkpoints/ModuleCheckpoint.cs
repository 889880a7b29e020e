using static TorchSharp.torch;

namespace MmCluster.Worker.Checkpoints;

/// <summary>
/// A stage's weights as one safetensors file (state_dict names, loadable in PyTorch and by <see cref="WeightLoader"/>),
/// with string metadata such as the stage, its model configs and its inputs (which checkpoints, which parts frozen).
/// Optimizer state is not included: a later stage starts its own optimizer.
/// </summary>
public static class ModuleCheckpoint
{
    public const string Format = "mmcluster.module.v1";

    public static void Save(string path, nn.Module model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = model.state_dict().Select(kv => CheckpointStore.ToEntry(kv.Key, kv.Value)).ToList();
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["format"] = Format };
        SafeTensorsFile.Write(path, entries, meta);
    }
}
