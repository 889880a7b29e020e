using static TorchSharp.torch;

namespace MmCluster.Worker.Checkpoints;

/// <summary>
/// Loads weights by name from an earlier stage's checkpoint or a user's safetensors file into (part of) a model: every
/// source tensor under <c>sourcePrefix</c> is renamed to <c>targetPrefix</c> + the rest of its name and must match a
/// target tensor of the same shape, and every target tensor under <c>targetPrefix</c> must be supplied. Anything else is an
/// error naming the file, the counts and the first few missing, unexpected and mis-shaped names. Optimizer state
/// (<c>optim.</c>) and <c>rng_state</c> of a training checkpoint are not weights and are skipped.
/// </summary>
public static class WeightLoader
{
    private const int Listed = 5;

    /// <returns>The number of tensors copied.</returns>
    public static int Load(nn.Module target, string path, string sourcePrefix = "", string targetPrefix = "")
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"weights file '{path}' does not exist", path);
        }
        var (tensors, _) = SafeTensorsFile.Read(path);
        return Load(target, tensors, path, sourcePrefix, targetPrefix);
    }

    /// <summary>The same from tensors already read from <paramref name="path"/> (named in errors).</summary>
    /// <returns>The number of tensors copied.</returns>
    public static int Load(nn.Module target, IReadOnlyList<SafeTensorEntry> tensors, string path, string sourcePrefix = "", string targetPrefix = "")
    {
        var source = tensors
            .Where(t => t.Name.StartsWith(sourcePrefix, StringComparison.Ordinal) && !IsTrainingState(t.Name))
            .ToDictionary(t => targetPrefix + t.Name[sourcePrefix.Length..], StringComparer.Ordinal);
        var targets = target.state_dict()
            .Where(kv => kv.Key.StartsWith(targetPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var missing = targets.Keys.Where(k => !source.ContainsKey(k)).ToArray();
        var unexpected = source.Keys.Where(k => !targets.ContainsKey(k)).ToArray();
        var misShaped = targets
            .Where(kv => source.TryGetValue(kv.Key, out var entry) && !entry.Shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} (file [{string.Join(", ", source[kv.Key].Shape)}], model [{string.Join(", ", kv.Value.shape)}])")
            .ToArray();
        if (targets.Count == 0 || missing.Length + unexpected.Length + misShaped.Length > 0)
        {
            throw new InvalidDataException(Describe(path, sourcePrefix, targetPrefix, targets.Count, missing, unexpected, misShaped));
        }
        using (no_grad())
        {
            foreach (var (name, tensor) in targets)
            {
                using var value = CheckpointStore.FromEntry(source[name]);
                using var typed = value.to_type(tensor.dtype);
                tensor.copy_(typed);
            }
        }
        return targets.Count;
    }

    private static bool IsTrainingState(string name) =>
        name.StartsWith("optim.", StringComparison.Ordinal) || name == "rng_state";

    private static string Describe(string path, string sourcePrefix, string targetPrefix, int expected, string[] missing, string[] unexpected, string[] misShaped)
    {
        var parts = new List<string>
        {
            $"{path}: weights under '{sourcePrefix}' do not fit the model's {expected} tensor(s) under '{targetPrefix}'",
        };
        void Add(string what, string[] names)
        {
            if (names.Length > 0)
            {
                parts.Add($"{names.Length} {what}: {string.Join(", ", names.Take(Listed))}{(names.Length > Listed ? ", ..." : "")}");
            }
        }
        Add("missing from the file", missing);
        Add("in the file but not in the model", unexpected);
        Add("with mismatched shapes", misShaped);
        return string.Join("; ", parts);
    }
}
