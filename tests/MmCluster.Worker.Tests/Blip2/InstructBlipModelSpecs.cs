using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;
using Xunit;
using static MmCluster.Worker.Tests.Llava.LlavaFixtures;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>
/// InstructBLIP on micro sizes (4 queries, 2 Q-Former layers): the Q-Former's mask over queries and instruction tokens
/// cell by cell, blip2-stage2's names, query outputs that read the instruction but not its padding, what trains, where the
/// LM's first label is predicted, and cached greedy generation against re-running the whole sequence.
/// </summary>
public sealed class InstructBlipModelSpecs
{
    private static readonly bool[,] MaskExpected =
    {
        // q0    q1    t0    t1    t2(pad)
        { true, true, true, true, false },
        { true, true, true, true, false },
        { true, true, true, true, false },
        { true, true, true, true, false },
        { true, true, true, true, false },
    };

    [Fact]
    public void Should_let_queries_and_instruction_see_each_other_but_not_padding_when_the_qformer_mask_is_built()
    {
        using var scope = NewDisposeScope();
        var valid = tensor(new[] { true, true, false, true, false, false }, [2, 3]);

        var mask = InstructBlipModel.InstructionMask(2, valid);             // (B, Q+T, Q+T)

        Assert.Equal(new long[] { 2, 5, 5 }, mask.shape);
        var cells = mask.data<bool>().ToArray();
        for (var i = 0; i < 5; i++)
        {
            for (var j = 0; j < 5; j++)
            {
                Assert.Equal(MaskExpected[i, j], cells[(i * 5) + j]);
                Assert.Equal(j < 3, cells[25 + (i * 5) + j]);              // row 1: only t0 valid
            }
        }
    }

    [Fact]
    public void Should_have_blip2_stage2_names_and_shapes_when_the_state_dict_is_listed()
    {
        using var stage2 = Blip2Fixtures.NewStage2();
        using var instruct = NewModel();

        Assert.Equal(stage2.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))),
            instruct.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))));
    }

    [Fact]
    public void Should_extract_different_query_outputs_when_the_instruction_differs()
    {
        using var model = NewModel();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var images = Images(2, 31);
        var valid = ones([2, 3], ScalarType.Bool);

        var first = model.Prefix(images, tensor(new long[] { 5, 6, 7, 5, 6, 7 }, [2, 3]), valid);
        var second = model.Prefix(images, tensor(new long[] { 9, 10, 11, 9, 10, 11 }, [2, 3]), valid);

        Assert.Equal(new long[] { 2, Blip2Fixtures.QFormer.Queries, Blip2Fixtures.Lm.Width }, first.shape);
        Assert.True(MaxDifference(first, second) > 1e-4, "the queries read the instruction");
    }

    [Fact]
    public void Should_change_nothing_when_a_padding_token_changes()
    {
        using var model = NewModel();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var images = Images(2, 32);
        var valid = tensor(new[] { true, true, false, true, false, false }, [2, 3]);

        var first = model.Prefix(images, tensor(new long[] { 5, 6, 0, 5, 0, 0 }, [2, 3]), valid);
        var second = model.Prefix(images, tensor(new long[] { 5, 6, 40, 5, 41, 42 }, [2, 3]), valid);

        Assert.True(BitEqual(first, second), "padding is never attended");
    }

    [Fact]
    public void Should_train_the_qformer_and_projection_only_when_its_prefixes_are_frozen()
    {
        using var model = NewModel();
        using var scope = NewDisposeScope();
        FrozenParameters.Apply(model, model.FrozenPrefixes);
        var (qfIds, lmIds) = (tensor(new long[] { 5, 6, 7, 8, 9, 10 }, [2, 3]), Ids(2, 4, 33));

        model.Loss(Images(2, 34), qfIds, ones([2, 3], ScalarType.Bool), lmIds, Labels(lmIds)).backward();

        var (nonZero, any) = Gradients(model);
        AssertStartsWithAny(any, "qformer.", "llm_proj.", "ln_vision.");
        Assert.Equal(model.parameters().Count(p => p.requires_grad), any.Count);   // every trainable parameter is reached
        Assert.Contains("qformer.word_embeddings.weight", nonZero);
        Assert.Contains("qformer.query_tokens", nonZero);
        Assert.Contains(nonZero, n => n.StartsWith("qformer.layers.0.ffn.", StringComparison.Ordinal));
        Assert.Contains("llm_proj.weight", nonZero);
    }

    [Fact]
    public void Should_predict_the_first_lm_label_from_the_first_text_position_when_the_loss_is_computed()
    {
        using var model = NewModel();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (images, qfIds, valid) = (Images(1, 35), tensor(new long[] { 5, 6 }, [1, 2]), ones([1, 2], ScalarType.Bool));
        var lmIds = Ids(1, 3, 36);
        var labels = tensor(new long[] { 17, CaptionTargets.IgnoreIndex, CaptionTargets.IgnoreIndex }, [1, 3]);

        var loss = model.Loss(images, qfIds, valid, lmIds, labels);
        var hidden = model.Decode(model.Prefix(images, qfIds, valid), lmIds);
        var expected = ManualLoss(model.LanguageModel, hidden, [(Blip2Fixtures.QFormer.Queries, 17)]);

        Assert.Equal(expected.item<float>(), loss.item<float>(), 5);
    }

    [Fact]
    public void Should_generate_what_rerunning_the_whole_sequence_generates_when_the_cache_is_used()
    {
        using var model = NewModel(seed: 5);
        using var scope = NewDisposeScope();
        var (images, qfIds, valid) = (Images(3, 37), tensor(new long[] { 5, 6, 7, 8, 9, 10 }, [3, 2]), ones([3, 2], ScalarType.Bool));
        var prompt = Ids(3, 2, 38);

        var cached = model.Generate(images, qfIds, valid, prompt, maxTokens: 5, Blip2Fixtures.Lm.EndOfText);
        using var _ = no_grad();
        var prefix = model.Prefix(images, qfIds, valid);
        var naive = NaiveGreedy(model.LanguageModel, prompt, 5, ids => model.Decode(prefix, ids));

        Assert.Equal(naive, cached);
        Assert.Contains(cached, c => c.Length > 1);
    }

    [Fact]
    public void Should_keep_live_tensor_count_flat_when_steps_and_answers_repeat()
    {
        using var model = NewModel();
        FrozenParameters.Apply(model, model.FrozenPrefixes);
        using var images = Images(2, 52);
        using var qfIds = tensor(new long[] { 5, 6, 7, 8, 9, 10 }, [2, 3]);
        using var valid = tensor(new[] { true, true, false, true, true, true }, [2, 3]);
        using var lmIds = Ids(2, 3, 53);
        using var labels = Labels(lmIds);

        AssertFlatLiveTensors(() =>
        {
            using (NewDisposeScope())
            {
                model.zero_grad();
                model.Loss(images, qfIds, valid, lmIds, labels).backward();
            }
            model.Generate(images, qfIds, valid, lmIds, maxTokens: 4, Blip2Fixtures.Lm.EndOfText);
        });
    }

    private static InstructBlipModel NewModel(long seed = Blip2Fixtures.ModelSeed)
    {
        random.manual_seed(seed);
        return new InstructBlipModel(Blip2Fixtures.Vision, Blip2Fixtures.QFormer, Blip2Fixtures.Lm);
    }
}
