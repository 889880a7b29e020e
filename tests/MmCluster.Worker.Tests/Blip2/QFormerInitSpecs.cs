using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>
/// What ITM's head sees at init: the mean over the queries of their outputs under the bi-directional mask. With BERT's
/// N(0, 0.02) at width 128 those outputs are the learned query constant plus a thousandth of input (measured std over the
/// batch 0.001 against ~1 over the features), so the head starts, and stays, at the class prior.
/// </summary>
public sealed class QFormerInitSpecs(ITestOutputHelper output)
{
    [Theory]
    [InlineData(null, true)]
    [InlineData(0.02, false)]   // the old fixed BERT-base init: the negative control
    public void Should_make_itm_query_outputs_depend_on_image_and_text_at_init_when_the_qformer_is_narrow(double? initializerRange, bool expectDependent)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(Blip2Fixtures.ModelSeed);
        var config = QFormerConfig.Tiny with { TextVocabSize = 64, InitializerRange = initializerRange };
        using var model = new Blip2Stage1Model(ClipConfig.Micro, config);
        var (images, captions) = Blip2Fixtures.Tensors(Blip2Fixtures.Batch(16));
        var (ids, valid) = QFormerText.FromCaptions(captions, config.ClsId, config.EndOfText);
        using var _ = no_grad();

        var hidden = model.QFormer.Forward(ids, Blip2Masks.Itm(config.Queries, valid), model.EncodeImage(images));
        var pooled = hidden.narrow(1, 0, config.Queries).mean([1]);                      // (B, W): what the head reads
        var overBatch = pooled.std(0).mean().item<float>();
        var overFeatures = pooled.std(1).mean().item<float>();

        output.WriteLine($"σ = {config.InitStd}: pooled query output std over the batch {overBatch}, over the features {overFeatures}");
        Assert.Equal(expectDependent, overBatch / overFeatures > 0.08);   // measured: 0.15 scaled, 0.03 at 0.02
    }
}
