using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Tests.Training;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Checkpoints;

public sealed class CheckpointStoreSpecs : IDisposable
{
    private static readonly TrainOptions Options = new() { LearningRate = 2e-3, WarmupSteps = 2, TotalSteps = 10 };
    private readonly string directory = Directory.CreateTempSubdirectory("checkpoint-specs").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static float[] Weights(ClipModel model) =>
        [.. model.parameters().SelectMany(p => p.detach().data<float>().ToArray())];

    [Fact]
    public void Should_continue_bit_identically_when_resumed_from_a_checkpoint()
    {
        var batches = Enumerable.Range(0, 4).Select(TrainStepSpecs.MicroBatch).ToArray();
        torch.random.manual_seed(11);
        using var model = new ClipModel(ClipConfig.Micro);
        using var trainer = new TrainStep(model, Options, SingleRankGatherer.Instance);
        for (var i = 0; i < 3; i++)
        {
            trainer.Run(batches[i]);
        }
        var store = new CheckpointStore(directory);
        var path = store.Save(model, trainer, new CheckpointMetadata(Step: 3, Epoch: 1, Seed: 11, LedgerJson: "{\"committed\":24}"));
        var continued = trainer.Run(batches[3]);

        torch.random.manual_seed(999);   // a different init: everything must come from the file
        using var fresh = new ClipModel(ClipConfig.Micro);
        using var resumed = new TrainStep(fresh, Options, SingleRankGatherer.Instance);
        var metadata = CheckpointStore.Load(store.LatestPath()!, fresh, resumed);
        var replayed = resumed.Run(batches[3]);

        Assert.Equal(path, store.LatestPath());
        Assert.Equal((3L, 1, 11L, "{\"committed\":24}"), (metadata.Step, metadata.Epoch, metadata.Seed, metadata.LedgerJson));
        Assert.Equal(continued.Step, replayed.Step);
        Assert.Equal(continued.LearningRate, replayed.LearningRate);
        Assert.Equal(BitConverter.SingleToInt32Bits(continued.Loss), BitConverter.SingleToInt32Bits(replayed.Loss));
        Assert.Equal(Weights(model), Weights(fresh));
    }

    [Fact]
    public void Should_store_open_clip_names_and_optimizer_state_when_saving()
    {
        torch.random.manual_seed(12);
        using var model = new ClipModel(ClipConfig.Micro);
        using var trainer = new TrainStep(model, Options, SingleRankGatherer.Instance);
        trainer.Run(TrainStepSpecs.MicroBatch());

        var path = new CheckpointStore(directory).Save(model, trainer, new CheckpointMetadata(1, 0, 12));
        var (tensors, metadata) = SafeTensorsFile.Read(path);
        var names = tensors.Select(t => t.Name).ToHashSet();

        Assert.Contains("visual.conv1.weight", names);
        Assert.Contains("logit_scale", names);
        Assert.Contains("optim.text_projection.exp_avg", names);
        Assert.Contains("optim.text_projection.exp_avg_sq", names);
        Assert.Equal(1L, BitConverter.ToInt64(tensors.Single(t => t.Name == "optim.logit_scale.step").Data));
        Assert.Equal(CheckpointStore.Format, metadata["format"]);
        Assert.EndsWith("step-00000001.safetensors", path);
    }

    [Fact]
    public void Should_name_the_tensor_when_a_checkpoint_does_not_fit_the_model()
    {
        torch.random.manual_seed(13);
        using var model = new ClipModel(ClipConfig.Micro);
        using var trainer = new TrainStep(model, Options, SingleRankGatherer.Instance);
        var path = new CheckpointStore(directory).Save(model, trainer, new CheckpointMetadata(0, 0, 13));
        using var other = new ClipModel(ClipConfig.Micro with { EmbedDim = 4 });
        using var otherTrainer = new TrainStep(other, Options, SingleRankGatherer.Instance);

        var error = Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(path, other, otherTrainer));
        Assert.Contains("proj", error.Message);
    }
}
