using MmCluster.Shared.Runs;
using static TorchSharp.torch;

namespace MmCluster.Worker.Checkpoints;

/// <summary>
/// Starts a stage's model from earlier weights (<see cref="StageConfig.Init"/>): each source, in order, is a safetensors
/// file (an earlier stage's checkpoint or a user's own) whose tensors overwrite the model's tensors of the same name.
/// Model weights only: optimizer state and the generator of a checkpoint are skipped. A source may hold more than the
/// model (a CLIP checkpoint feeding BLIP-2's image encoder), but a tensor of the model's name with another shape, or a
/// source naming no tensor of the model at all, is an error naming the file, the tensor and both shapes.
/// </summary>
public static class WeightInitializer
{
    private const string OptimPrefix = "optim.";
    private const string RngKey = "rng_state";

    public static IReadOnlyList<WeightInitResult> Load(nn.Module model, IReadOnlyList<StageInit> sources)
    {
        var targets = model.state_dict();
        var results = new List<WeightInitResult>(sources.Count);
        foreach (var source in sources)
        {
            var path = source.Checkpoint
                ?? throw new InvalidOperationException($"init.from '{source.From}' was not resolved to a checkpoint file");
            var (tensors, _) = SafeTensorsFile.Read(path);
            var weights = tensors.Where(t => !t.Name.StartsWith(OptimPrefix, StringComparison.Ordinal) && t.Name != RngKey).ToList();
            var matched = weights.Where(t => targets.ContainsKey(t.Name)).ToList();
            if (matched.Count == 0)
            {
                throw new InvalidDataException(
                    $"init.from '{source.From}' ({path}): none of its {weights.Count} tensors names a tensor of the model " +
                    $"(the file has {Sample(weights.Select(t => t.Name))}; the model has {Sample(targets.Keys)})");
            }
            foreach (var entry in matched)
            {
                var target = targets[entry.Name];
                if (!entry.Shape.SequenceEqual(target.shape))
                {
                    throw new InvalidDataException(
                        $"init.from '{source.From}' ({path}): tensor '{entry.Name}' has shape [{string.Join(", ", entry.Shape)}], the model expects [{string.Join(", ", target.shape)}]");
                }
            }
            using (no_grad())
            {
                foreach (var entry in matched)
                {
                    CheckpointStore.CopyInto(entry, targets[entry.Name], path);
                }
            }
            results.Add(new WeightInitResult(source.From, path, matched.Count, targets.Count, weights.Count - matched.Count));
        }
        return results;
    }

    private static string Sample(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).ToList();
        return string.Join(", ", list.Take(4).Select(n => $"'{n}'")) + (list.Count > 4 ? $" and {list.Count - 4} more" : "");
    }
}

/// <summary>What one init source supplied: <see cref="Loaded"/> of the model's <see cref="ModelTensors"/>, and how many of its tensors the model has no use for.</summary>
public sealed record WeightInitResult(string From, string Path, int Loaded, int ModelTensors, int Unused);
