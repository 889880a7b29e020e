using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

/// <summary>
/// The compact caption vocabulary with and without an unknown token, and the vocabulary a stage builds from a real
/// Parquet manifest: every split (the default), or the training split only with held-out words read as unknown.
/// </summary>
public sealed class CaptionVocabularySpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mmcluster-vocab-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Should_read_a_missing_word_as_the_unknown_token_and_leave_it_out_of_text_when_the_vocabulary_has_one()
    {
        var sneaker = CaptionTokenizer.EncodeText(" a sneaker").Select(id => (long)id).ToArray();
        var with = new CaptionVocabulary([.. sneaker, CaptionVocabulary.UnknownGpt2]);
        var without = new CaptionVocabulary(sneaker);
        var bag = CaptionTokenizer.EncodeText(" a bag").Select(id => (long)id).ToArray();

        var compact = with.ToCompact(bag);

        Assert.Equal((0L, CaptionTokenizer.EndOfText), (with.Ids[0], with.Ids[^1]));   // padding first, end-of-text last
        Assert.Equal(with.Count - 2, with.Unknown);
        Assert.Equal(CaptionVocabulary.UnknownGpt2, with.Ids[with.Count - 2]);
        Assert.Null(without.Unknown);
        Assert.Equal([with.ToCompact(sneaker)[0], with.Unknown!.Value], compact);
        Assert.Equal(" a", CaptionTokenizer.DecodeText(with.ToGpt2(compact)));
        var refused = Assert.Throws<ArgumentException>(() => without.ToCompact(bag));
        Assert.Contains($"GPT-2 id {bag[1]} at position 1 is not in the caption vocabulary", refused.Message);
    }

    [Fact]
    public void Should_keep_its_ids_when_a_vocabulary_with_the_unknown_token_is_recorded_and_parsed_again()
    {
        var vocabulary = new CaptionVocabulary([.. CaptionTokenizer.EncodeText(" a coat").Select(id => (long)id), CaptionVocabulary.UnknownGpt2]);

        var parsed = Blip2StageInputs.ParseVocabulary(Blip2StageInputs.Record(vocabulary)[Blip2StageInputs.VocabularyKey]);

        Assert.Equal(vocabulary.Ids, parsed.Ids);
        Assert.Equal(vocabulary.Unknown, parsed.Unknown);
    }

    [Fact]
    public async Task Should_hold_words_only_the_test_split_uses_unless_the_stage_builds_its_vocabulary_from_the_training_split()
    {
        var manifest = Path.Combine(_root, "manifest");
        var options = new ParquetManifestWriterOptions { Storage = ManifestImageStorage.Embedded, HasLabel = true, HasSplit = true, HasConversation = true };
        var png = GrayPng.Encode(new byte[28 * 28], 28, 28);
        await using (var writer = new ParquetManifestWriter(manifest, options))
        {
            await writer.AddAsync(new ManifestRow("train-0", "a photo of a sneaker.", png, 7, "train") { Conversation = Ask("What is the item in the image?", "a sneaker") });
            await writer.AddAsync(new ManifestRow("test-0", "a photo of a sneaker.", png, 7, "test") { Conversation = Ask("Tell me what this is.", "a sneaker") });
        }
        var config = new StageConfig { RunId = "r", RunDirectory = _root, Stage = "lm", Kind = "lm", Preset = "lm-chat", ManifestPath = manifest };
        var tell = (long)CaptionTokenizer.EncodeText(" Tell")[0];
        var what = (long)CaptionTokenizer.EncodeText(" What")[0];

        var all = (await Blip2StageInputs.ResolveAsync(config, CancellationToken.None)).Vocabulary;
        var train = (await Blip2StageInputs.ResolveAsync(config with { Vocabulary = VocabularySource.Train }, CancellationToken.None)).Vocabulary;

        Assert.Equal((true, true, (long?)null), (all.Contains(tell), all.Contains(what), all.Unknown));
        Assert.Equal((false, true), (train.Contains(tell), train.Contains(what)));
        Assert.Equal(train.Unknown, train.ToCompact([tell])[0]);
        Assert.All(train.Ids.Where(id => id != CaptionVocabulary.UnknownGpt2), id => Assert.True(all.Contains(id)));
    }

    private static Conversation Ask(string question, string answer) => Conversation.Single(question, answer);
}
