using MmCluster.Worker.Model.Blip2;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>The three objectives' masks on 2 queries and 3 text tokens, the last one padding: every cell by hand.</summary>
public sealed class Blip2MasksSpecs
{
    private static readonly bool[,] ItcExpected =
    {
        // q0     q1     t0     t1     t2(pad)
        { true,  true,  false, false, false },
        { true,  true,  false, false, false },
        { false, false, true,  true,  false },
        { false, false, true,  true,  false },
        { false, false, true,  true,  false },
    };

    private static readonly bool[,] ItmExpected =
    {
        { true, true, true, true, false },
        { true, true, true, true, false },
        { true, true, true, true, false },
        { true, true, true, true, false },
        { true, true, true, true, false },
    };

    private static readonly bool[,] ItgExpected =
    {
        { true, true, false, false, false },
        { true, true, false, false, false },
        { true, true, true,  false, false },
        { true, true, true,  true,  false },
        { true, true, true,  true,  false },
    };

    public static TheoryData<string> Objectives() => new() { "itc", "itm", "itg" };

    [Theory]
    [MemberData(nameof(Objectives))]
    public void Should_match_the_hand_written_mask_when_the_last_text_token_is_padding(string objective)
    {
        using var scope = NewDisposeScope();
        var valid = tensor(new[] { true, true, false, true, true, true }, [2, 3]);   // row 0 padded, row 1 full
        var (mask, expected) = objective switch
        {
            "itc" => (Blip2Masks.Itc(2, valid), ItcExpected),
            "itm" => (Blip2Masks.Itm(2, valid), ItmExpected),
            _ => (Blip2Masks.Itg(2, valid), ItgExpected),
        };

        Assert.Equal(new long[] { 2, 5, 5 }, mask.shape);
        Assert.Equal(ScalarType.Bool, mask.dtype);
        for (var i = 0; i < 5; i++)
        {
            for (var j = 0; j < 5; j++)
            {
                Assert.True(expected[i, j] == mask[0, i, j].item<bool>(), $"{objective} row 0 [{i},{j}]");
                var full = j == 4 ? (objective == "itm" || (objective == "itc" && i >= 2) || (objective == "itg" && i == 4)) : expected[i, j];
                Assert.True(full == mask[1, i, j].item<bool>(), $"{objective} row 1 [{i},{j}]");
            }
        }
    }

    [Fact]
    public void Should_add_zero_where_allowed_and_minus_infinity_elsewhere_when_made_additive()
    {
        using var scope = NewDisposeScope();
        var allowed = Blip2Masks.Itg(1, tensor(new[] { true, true }, [1, 2]));
        var additive = Blip2Masks.ToAdditive(allowed);

        Assert.Equal(new long[] { 1, 1, 3, 3 }, additive.shape);
        Assert.Equal(0f, additive[0, 0, 2, 1].item<float>());
        Assert.True(float.IsNegativeInfinity(additive[0, 0, 0, 1].item<float>()));
    }

    [Fact]
    public void Should_give_text_features_independent_of_the_image_when_run_under_the_itc_mask()
    {
        using var scope = NewDisposeScope();
        using var model = Blip2Fixtures.NewStage1();
        var batch = Blip2Fixtures.Batch(2);
        var (images, captions) = Blip2Fixtures.Tensors(batch);
        var config = model.QFormer.Config;
        var (ids, valid) = QFormerText.FromCaptions(captions, config.ClsId, config.EndOfText);
        var mask = Blip2Masks.Itc(config.Queries, valid);
        using var _ = no_grad();

        var a = model.QFormer.Forward(ids, mask, model.EncodeImage(images));
        var b = model.QFormer.Forward(ids, mask, model.EncodeImage(images.flip(0)));

        var textA = a.narrow(1, config.Queries, ids.shape[1]);
        var textB = b.narrow(1, config.Queries, ids.shape[1]);
        Assert.True(textA.allclose(textB, rtol: 0, atol: 1e-6), "ITC text positions must not see queries or the image");
        Assert.False(a.narrow(1, 0, config.Queries).allclose(b.narrow(1, 0, config.Queries)), "queries must see the image");
    }

    [Fact]
    public void Should_let_queries_read_the_text_and_text_read_the_image_when_run_under_the_itm_mask()
    {
        using var scope = NewDisposeScope();
        using var model = Blip2Fixtures.NewStage1();
        var (images, captions) = Blip2Fixtures.Tensors(Blip2Fixtures.Batch(2));
        var config = model.QFormer.Config;
        var (ids, valid) = QFormerText.FromCaptions(captions, config.ClsId, config.EndOfText);
        var (otherIds, otherValid) = QFormerText.FromCaptions(captions.flip(0), config.ClsId, config.EndOfText);
        using var _ = no_grad();
        var image = model.EncodeImage(images);
        var otherImage = model.EncodeImage(images.flip(0));

        var reference = model.QFormer.Forward(ids, Blip2Masks.Itm(config.Queries, valid), image);
        var otherText = model.QFormer.Forward(otherIds, Blip2Masks.Itm(config.Queries, otherValid), image);
        var otherPicture = model.QFormer.Forward(ids, Blip2Masks.Itm(config.Queries, valid), otherImage);
        var itcOtherText = model.QFormer.Forward(otherIds, Blip2Masks.Itc(config.Queries, otherValid), image);
        var itcReference = model.QFormer.Forward(ids, Blip2Masks.Itc(config.Queries, valid), image);

        Assert.False(reference.narrow(1, 0, config.Queries).allclose(otherText.narrow(1, 0, config.Queries)), "ITM queries must see the text");
        Assert.False(reference.narrow(1, config.Queries, ids.shape[1]).allclose(otherPicture.narrow(1, config.Queries, ids.shape[1])), "ITM text must see the queries (and through them the image)");
        Assert.True(itcReference.narrow(1, 0, config.Queries).allclose(itcOtherText.narrow(1, 0, config.Queries), rtol: 0, atol: 1e-6), "control: ITC queries do not see the text");
    }
}
