using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Llava;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;
using static MmCluster.Worker.Tests.Llava.LlavaFixtures;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Llava;

/// <summary>
/// The LLaVA model on micro sizes: CLIP's and LLaVA's names, features from the second-to-last vision block without the
/// class token, the image spliced at its text position with text positions kept, the loss's targets, what each stage
/// trains, and cached greedy generation against re-running the whole sequence.
/// </summary>
public sealed class LlavaModelSpecs
{
    [Fact]
    public void Should_keep_clip_visual_and_llava_projector_names_when_the_state_dict_is_listed()
    {
        using var llava = NewLlava();
        using var clip = new ClipModel(Vision);
        using var lm = new CaptionLm(Lm);
        var keys = llava.state_dict().Keys.ToHashSet();

        Assert.Superset(clip.state_dict().Keys.Where(k => k.StartsWith("visual.", StringComparison.Ordinal)).ToHashSet(), keys);
        Assert.Superset(lm.state_dict().Keys.Select(k => $"lm.{k}").ToHashSet(), keys);
        string[] projector = ["mm_projector.0.weight", "mm_projector.0.bias", "mm_projector.2.weight", "mm_projector.2.bias"];
        Assert.Equal(projector.Order(), keys.Where(k => k.StartsWith("mm_projector", StringComparison.Ordinal)).Order());
        Assert.Equal(clip.state_dict().Keys.Count(k => k.StartsWith("visual.", StringComparison.Ordinal)) + lm.state_dict().Count + 4, keys.Count);
    }

    [Fact]
    public void Should_take_patch_tokens_of_the_second_to_last_block_when_images_are_encoded()
    {
        using var llava = NewLlava();
        using var shallow = new VisionTransformer(Vision with { VisionLayers = 1 });   // the same weights, one block
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var visual = llava.named_modules().Single(m => m.name == "visual").module;
        var weights = visual.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in shallow.named_parameters())
        {
            parameter.copy_(weights[name]);
        }
        var images = Images(2, 1);

        var features = llava.ImageFeatures(images);                       // (B, P, Wv)
        var expected = shallow.ForwardTokens(images).narrow(1, 1, 4);      // class token dropped

        Assert.Equal(1, llava.FeatureLayers);
        Assert.Equal(new long[] { 2, 4, Vision.VisionWidth }, features.shape);
        Assert.True(BitEqual(expected, features), "features of block 1 of 2, patches only");
        var full = ((VisionTransformer)visual).ForwardTokens(images);
        Assert.True(BitEqual(full, ((VisionTransformer)visual).ForwardHidden(images, 2)), "all blocks: ForwardTokens unchanged");
        Assert.True(MaxDifference(full.narrow(1, 1, 4), features) > 1e-4, "the last block is not run");
    }

    [Fact]
    public void Should_give_text_token_j_position_j_when_the_image_is_spliced_in()
    {
        using var llava = NewLlava();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (images, ids) = (Images(2, 2), Ids(2, 5, 3));
        var lm = llava.LanguageModel;

        var hidden = llava.Forward(images, ids, 2);                        // (B, P+T, W)
        var image = llava.ImageTokens(images);
        var manual = cat([lm.Embed(ids.narrow(1, 0, 2), 0), image, lm.Embed(ids.narrow(1, 2, 3), 2)], 1);
        var expected = lm.ForwardEmbeddings(manual);

        Assert.Equal(new long[] { 2, 4, Lm.Width }, image.shape);
        Assert.Equal(new long[] { 2, 9, Lm.Width }, hidden.shape);
        Assert.True(MaxDifference(expected, hidden) < 1e-6);
        var other = llava.Forward(Images(2, 4), ids, 2);
        Assert.True(BitEqual(hidden.narrow(1, 0, 2), other.narrow(1, 0, 2)), "causal: text before the image does not see it");
        Assert.True(MaxDifference(hidden.narrow(1, 2, 7), other.narrow(1, 2, 7)) > 1e-4);
    }

    [Fact]
    public void Should_predict_the_first_text_after_the_image_from_its_last_token_when_the_loss_is_computed()
    {
        using var llava = NewLlava();
        using var scope = NewDisposeScope();
        var (images, ids) = (Images(1, 5), Ids(1, 4, 6));
        var labels = Labels(ids);                                          // [id1, id2, id3, EOT]: shifted
        using var _ = no_grad();

        var loss = llava.Loss(images, ids, labels, 1);                     // text 0, image (4 tokens), text 1..3
        var hidden = llava.Forward(images, ids, 1);
        var row = ids[0].data<long>().ToArray();
        var expected = ManualLoss(llava.LanguageModel, hidden, [(4, row[1]), (5, row[2]), (6, row[3]), (7, Lm.EndOfText)]);   // text 0 predicts nothing (an image follows)

        Assert.Equal(expected.item<float>(), loss.item<float>(), 5);
    }

    [Fact]
    public void Should_train_only_the_projector_when_aligning_and_the_projector_and_lm_when_instruct_tuning()
    {
        foreach (var (prefixes, trained) in new[]
        {
            (LlavaModel.AlignFrozenPrefixes, new[] { "mm_projector." }),
            (LlavaModel.InstructFrozenPrefixes, new[] { "mm_projector.", "lm." }),
        })
        {
            using var llava = NewLlava();
            using var scope = NewDisposeScope();
            FrozenParameters.Apply(llava, prefixes);
            var ids = Ids(2, 4, 7);

            llava.Loss(Images(2, 8), ids, Labels(ids), 1).backward();

            var (nonZero, any) = Gradients(llava);
            AssertStartsWithAny(any, trained);
            Assert.All(trained, p => Assert.Contains(nonZero, n => n.StartsWith(p, StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void Should_generate_what_rerunning_the_whole_sequence_generates_when_the_cache_is_used()
    {
        using var llava = NewLlava(seed: 3);

        var (cached, naive) = CachedAndNaive(llava, imagePosition: 1, seed: 9);

        Assert.Equal(naive, cached);
        Assert.Contains(cached, c => c.Length > 1);
        Assert.All(cached, c => Assert.True(c.Length <= 5));
    }
}
