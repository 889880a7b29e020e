using MmCluster.Shared.Manifest;
using MmCluster.Worker.Tests.Training.Photos;
using MmCluster.Worker.Training;
using SkiaSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class BatchBuilderCropSpecs
{
    private static readonly byte[] Photo = PhotoDecoderSpecs.Encode(300, 260, SKEncodedImageFormat.Jpeg, (x, y) => new SKColor((byte)x, (byte)(y * 3), (byte)(x ^ y)));

    private static float[] Pixels(BatchBuilder builder, params CaptionedImage[] rows) => builder.Build(rows).Pixels;

    private static CaptionedImage Row(string key, int epoch) => new(key, "a photo", Photo) { Epoch = epoch };

    [Fact]
    public void Should_crop_each_row_by_seed_epoch_and_key_when_building_training_batches_of_photos()
    {
        var builder = new BatchBuilder(ImageDecoder.ClipRgb(32), new CaptionTokenizer(16), cropSeed: 5);
        var per = 3 * 32 * 32;

        var first = Pixels(builder, Row("a", 0), Row("b", 0));
        var again = Pixels(builder, Row("a", 0), Row("b", 0));
        var nextEpoch = Pixels(builder, Row("a", 1));

        Assert.Equal(first, again);
        Assert.NotEqual(first[..per], first[per..]);
        Assert.NotEqual(first[..per], nextEpoch);
    }

    [Fact]
    public void Should_crop_conversation_rows_as_caption_rows_when_a_chat_stage_builds_training_batches_of_photos()
    {
        // BLIP-2's and the chat kinds' training batches take the same random-resized-crop as clip's; evaluation the centre.
        var template = new ConversationTemplate(48);
        Conversation Talk() => Conversation.Single("What is the item in the image?", "a photo");
        var rows = new[] { Row("a", 0) with { Conversation = Talk() }, Row("a", 1) with { Conversation = Talk() } };
        var cropped = new BatchBuilder(ImageDecoder.ClipRgb(32), new CaptionTokenizer(16), template, ChatSource.Conversations, cropSeed: 5);
        var captions = new BatchBuilder(ImageDecoder.ClipRgb(32), new CaptionTokenizer(16), cropSeed: 5);
        var per = 3 * 32 * 32;

        var pixels = Pixels(cropped, rows);

        Assert.Equal(Pixels(captions, Row("a", 0), Row("a", 1)), pixels);                // the crop of (seed, epoch, key)
        Assert.NotEqual(ImageDecoder.ClipRgb(32).Decode(Photo, "a"), pixels[..per]);      // not the centre crop
        Assert.NotEqual(pixels[..per], pixels[per..]);                                   // another epoch, another crop
        Assert.Contains(cropped.Build(rows).Targets!, t => t >= 0);                    // the answers are supervised
    }

    [Fact]
    public void Should_take_the_centre_crop_when_no_crop_seed_is_given()
    {
        var builder = new BatchBuilder(ImageDecoder.ClipRgb(32), new CaptionTokenizer(16));

        var pixels = Pixels(builder, Row("a", 0), Row("b", 3));

        Assert.Equal(pixels[..(3 * 32 * 32)], pixels[(3 * 32 * 32)..]);
        Assert.Equal(ImageDecoder.ClipRgb(32).Decode(Photo, "a"), pixels[..(3 * 32 * 32)]);
    }
}
