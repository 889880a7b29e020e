using System.Runtime.InteropServices;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Checkpoints;

/// <summary>A stage starting from earlier weights (init.from) and freezing module prefixes.</summary>
public sealed class WeightInitializerSpecs : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("mmcluster-init-").FullName;

    [Fact]
    public void Should_copy_the_model_weights_and_skip_optimizer_state_when_the_file_names_them()
    {
        using var model = new TwoTower();
        var path = Write("clip.safetensors",
            Entry("visual.weight", [2, 3], 0.5f), Entry("visual.bias", [2], -1f),
            Entry("optim.visual.weight.exp_avg", [2, 3], 9f), Entry("rng_state", [4], 0f), Entry("text.weight", [8], 1f));
        using var before = model.state_dict()["head.weight"].clone();

        var result = Assert.Single(WeightInitializer.Load(model, [new StageInit { From = "clip", Stage = "clip", Checkpoint = path }]));

        Assert.Equal(("clip", 2, 4, 1), (result.From, result.Loaded, result.ModelTensors, result.Unused));
        Assert.All(model.state_dict()["visual.weight"].data<float>().ToArray(), v => Assert.Equal(0.5f, v));
        Assert.All(model.state_dict()["visual.bias"].data<float>().ToArray(), v => Assert.Equal(-1f, v));
        Assert.Equal(before.data<float>().ToArray(), model.state_dict()["head.weight"].data<float>().ToArray());
    }

    [Fact]
    public void Should_name_the_source_the_tensor_and_both_shapes_when_a_shape_differs()
    {
        using var model = new TwoTower();
        var path = Write("encoder.safetensors", Entry("visual.weight", [3, 3], 0f));

        var error = Assert.Throws<InvalidDataException>(() => WeightInitializer.Load(model, [new StageInit { From = "encoder.safetensors", Checkpoint = path }]));

        Assert.Equal($"init.from 'encoder.safetensors' ({path}): tensor 'visual.weight' has shape [3, 3], the model expects [2, 3]", error.Message);
    }

    [Fact]
    public void Should_list_both_sides_names_when_the_file_names_no_tensor_of_the_model()
    {
        using var model = new TwoTower();
        var path = Write("other.safetensors", Entry("vision.proj", [2], 0f));

        var error = Assert.Throws<InvalidDataException>(() => WeightInitializer.Load(model, [new StageInit { From = "lm", Stage = "lm", Checkpoint = path }]));

        Assert.Contains("init.from 'lm'", error.Message);
        Assert.Contains("the file has 'vision.proj'", error.Message);
        Assert.Contains("the model has 'head.bias', 'head.weight', 'visual.bias', 'visual.weight'", error.Message);
    }

    [Fact]
    public void Should_freeze_only_the_parameters_under_the_prefix()
    {
        using var model = new TwoTower();

        var frozen = FrozenParameters.Apply(model, ["visual"]);

        Assert.Equal(2, frozen);
        Assert.Equal(["head.weight", "head.bias"], model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name));
        var error = Assert.Throws<ArgumentException>(() => FrozenParameters.Apply(model, ["lm"]));
        Assert.Equal("freeze: 'lm' names no parameter of the model (its modules: head, visual)", error.Message);
    }

    private string Write(string name, params SafeTensorEntry[] entries)
    {
        var path = Path.Combine(folder, name);
        SafeTensorsFile.Write(path, entries);
        return path;
    }

    private static SafeTensorEntry Entry(string name, long[] shape, float value)
    {
        var values = Enumerable.Repeat(value, (int)shape.Aggregate(1L, (a, b) => a * b)).ToArray();
        return new SafeTensorEntry(name, "F32", shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private sealed class TwoTower : nn.Module<Tensor, Tensor>
    {
        private readonly Linear visual;
        private readonly Linear head;

        public TwoTower() : base(nameof(TwoTower))
        {
            visual = nn.Linear(3, 2);
            head = nn.Linear(2, 2);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var h = visual.forward(x);
            return head.forward(h);
        }
    }
}
