using MmCluster.Worker.Checkpoints;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>
/// Fixture: a model's weights as one safetensors file (state_dict names, no optimizer state) for <see cref="WeightLoader"/>
/// to read. Only the specs write such files (the stages write full checkpoints through <see cref="CheckpointStore"/>).
/// </summary>
internal static class ModuleCheckpoint
{
    public const string Format = "mmcluster.module.v1";

    public static void Save(string path, nn.Module model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = model.state_dict().Select(kv => CheckpointStore.ToEntry(kv.Key, kv.Value)).ToList();
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["format"] = Format };
        SafeTensorsFile.Write(path, entries, meta);
    }
}
