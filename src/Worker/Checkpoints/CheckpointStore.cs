using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MmCluster.Collectives;
using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Checkpoints;

/// <summary>
/// Saves and restores a CLIP training state as one safetensors file per step (<c>step-00000123.safetensors</c>): the
/// model's state_dict under OpenCLIP's names, AdamW's state per parameter (<c>optim.&lt;param&gt;.exp_avg</c>,
/// <c>.exp_avg_sq</c>, <c>.step</c>), the CPU generator state (<c>rng_state</c>), and string metadata (step, epoch,
/// seed, ledger JSON, model config). Restoring into a fresh model and <see cref="TrainStep"/> continues bit-identically.
/// </summary>
public sealed class CheckpointStore(string directory)
{
    public const string Format = "mmcluster.clip.v1";
    private const string OptimPrefix = "optim.";
    private const string RngKey = "rng_state";

    public string Directory { get; } = directory;

    public static string FileName(long step) => string.Create(CultureInfo.InvariantCulture, $"step-{step:D8}.safetensors");

    /// <returns>The path written.</returns>
    public string Save(ClipModel model, TrainStep trainer, CheckpointMetadata metadata) =>
        Save(model, trainer.Optimizer, metadata, JsonSerializer.Serialize(model.Config));

    /// <summary>Any stage's model and trainer; <paramref name="modelConfig"/> is stored as the <c>model_config</c> metadata.</summary>
    /// <returns>The path written.</returns>
    internal string Save(nn.Module model, IOptimizerState trainer, CheckpointMetadata metadata, string modelConfig)
    {
        var entries = new List<SafeTensorEntry>();
        foreach (var (name, tensor) in model.state_dict())
        {
            entries.Add(ToEntry(name, tensor));
        }
        var states = trainer.Optimizer.state_dict().State;
        for (var i = 0; i < trainer.NamedParameters.Count; i++)
        {
            var name = trainer.NamedParameters[i].Name;
            var state = (AdamW.State)states[i];
            entries.Add(ToEntry($"{OptimPrefix}{name}.exp_avg", state.exp_avg));
            entries.Add(ToEntry($"{OptimPrefix}{name}.exp_avg_sq", state.exp_avg_sq));
            entries.Add(new SafeTensorEntry($"{OptimPrefix}{name}.step", "I64", [], BitConverter.GetBytes(state.step)));
        }
        using (var rng = torch.random.get_rng_state())
        {
            entries.Add(ToEntry(RngKey, rng));
        }
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["step"] = metadata.Step.ToString(CultureInfo.InvariantCulture),
            ["epoch"] = metadata.Epoch.ToString(CultureInfo.InvariantCulture),
            ["seed"] = metadata.Seed.ToString(CultureInfo.InvariantCulture),
            ["ledger"] = metadata.LedgerJson,
            ["trainer_step"] = trainer.Step.ToString(CultureInfo.InvariantCulture),
            ["model_config"] = modelConfig,
        };
        foreach (var (key, value) in metadata.Extra)
        {
            meta[$"extra.{key}"] = value;
        }
        var path = Path.Combine(Directory, FileName(metadata.Step));
        SafeTensorsFile.Write(path, entries, meta);
        return path;
    }

    /// <summary>
    /// A model's weights alone (its state dict under its own names; no optimizer state, no generator), e.g. a CLIP model
    /// under OpenCLIP's names that OpenCLIP loads with <c>load_state_dict(strict=True)</c>.
    /// </summary>
    public static void SaveWeights(nn.Module model, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensorsFile.Write(path, [.. model.state_dict().Select(kv => ToEntry(kv.Key, kv.Value))], metadata);

    /// <summary>The checkpoint with the highest step in the directory, or null when there is none.</summary>
    public string? LatestPath() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "step-*.safetensors").Order(StringComparer.Ordinal).LastOrDefault()
            : null;

    /// <summary>Restores model weights, optimizer state, trainer step and the generator; every key must match.</summary>
    public static CheckpointMetadata Load(string path, ClipModel model, TrainStep trainer) => Load(path, model, trainer.Optimizer);

    /// <summary>Restores any stage's model and trainer; every key must match.</summary>
    internal static CheckpointMetadata Load(string path, nn.Module model, IOptimizerState trainer)
    {
        var (tensors, meta) = SafeTensorsFile.Read(path);
        if (!meta.TryGetValue("format", out var format) || format != Format)
        {
            throw new InvalidDataException($"{path}: not a {Format} checkpoint (format '{format}')");
        }
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        SafeTensorEntry Take(string name)
        {
            used.Add(name);
            return byName.TryGetValue(name, out var entry) ? entry : throw new InvalidDataException($"{path}: missing tensor '{name}'");
        }
        using (no_grad())
        {
            foreach (var (name, target) in model.state_dict())
            {
                CopyInto(Take(name), target, path);
            }
            var states = trainer.Optimizer.state_dict().State;
            for (var i = 0; i < trainer.NamedParameters.Count; i++)
            {
                var name = trainer.NamedParameters[i].Name;
                var state = (AdamW.State)states[i];
                CopyInto(Take($"{OptimPrefix}{name}.exp_avg"), state.exp_avg, path);
                CopyInto(Take($"{OptimPrefix}{name}.exp_avg_sq"), state.exp_avg_sq, path);
                state.step = BitConverter.ToInt64(Take($"{OptimPrefix}{name}.step").Data);
            }
            using var rng = FromEntry(Take(RngKey));
            torch.random.set_rng_state(rng);
        }
        var unexpected = byName.Keys.Except(used).ToArray();
        if (unexpected.Length > 0)
        {
            throw new InvalidDataException($"{path}: unexpected tensor(s) {string.Join(", ", unexpected.Take(5))}");
        }
        trainer.Step = long.Parse(meta["trainer_step"], CultureInfo.InvariantCulture);
        return new CheckpointMetadata(
            long.Parse(meta["step"], CultureInfo.InvariantCulture),
            int.Parse(meta["epoch"], CultureInfo.InvariantCulture),
            long.Parse(meta["seed"], CultureInfo.InvariantCulture),
            meta["ledger"])
        {
            Extra = meta.Where(kv => kv.Key.StartsWith("extra.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["extra.".Length..], kv => kv.Value),
        };
    }

    internal static SafeTensorEntry ToEntry(string name, Tensor tensor)
    {
        using var contiguous = tensor.detach().cpu().contiguous();
        var (dtype, bytes) = contiguous.dtype switch
        {
            ScalarType.Float32 => ("F32", MemoryMarshal.AsBytes(contiguous.data<float>().ToArray().AsSpan()).ToArray()),
            ScalarType.Float64 => ("F64", MemoryMarshal.AsBytes(contiguous.data<double>().ToArray().AsSpan()).ToArray()),
            ScalarType.Int64 => ("I64", MemoryMarshal.AsBytes(contiguous.data<long>().ToArray().AsSpan()).ToArray()),
            ScalarType.Byte => ("U8", contiguous.data<byte>().ToArray()),
            var other => throw new NotSupportedException($"tensor '{name}': dtype {other} is not checkpointed"),
        };
        return new SafeTensorEntry(name, dtype, contiguous.shape, bytes);
    }

    internal static Tensor FromEntry(SafeTensorEntry entry) => entry.DType switch
    {
        "F32" => tensor(MemoryMarshal.Cast<byte, float>(entry.Data).ToArray(), entry.Shape),
        "F64" => tensor(MemoryMarshal.Cast<byte, double>(entry.Data).ToArray(), entry.Shape),
        "I64" => tensor(MemoryMarshal.Cast<byte, long>(entry.Data).ToArray(), entry.Shape),
        "U8" => tensor(entry.Data, entry.Shape, dtype: ScalarType.Byte),
        "F16" or "BF16" => tensor(HalfToSingle(entry), entry.Shape),   // OpenCLIP checkpoints saved in half precision
        _ => throw new NotSupportedException($"tensor '{entry.Name}': dtype {entry.DType} is not supported"),
    };

    /// <summary>F16 or BF16 bytes widened to float32 (exact: every half value is a float32 value).</summary>
    private static float[] HalfToSingle(SafeTensorEntry entry)
    {
        var halves = MemoryMarshal.Cast<byte, ushort>(entry.Data);
        var values = new float[halves.Length];
        if (entry.DType == "BF16")
        {
            BFloat16Bits.Widen(halves, values);                    // bfloat16 is float32's upper half
            return values;
        }
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)BitConverter.UInt16BitsToHalf(halves[i]);
        }
        return values;
    }

    internal static void CopyInto(SafeTensorEntry entry, Tensor target, string path)
    {
        if (!entry.Shape.SequenceEqual(target.shape))
        {
            throw new InvalidDataException($"{path}: tensor '{entry.Name}' has shape [{string.Join(", ", entry.Shape)}], the model expects [{string.Join(", ", target.shape)}]");
        }
        using var source = FromEntry(entry);
        target.copy_(source);
    }
}
