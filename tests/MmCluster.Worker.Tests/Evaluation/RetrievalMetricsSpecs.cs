using MmCluster.Worker.Evaluation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Evaluation;

public sealed class RetrievalMetricsSpecs
{
    [Fact]
    public void Should_rank_each_query_against_all_candidates_when_computing_recall_at_k()
    {
        using var scope = NewDisposeScope();
        // rows: queries; the right candidate of row i is column i. Pair ranks: 0, 2, 1, 4.
        var scores = tensor(new float[]
        {
            0.9f, 0.1f, 0.2f, 0.0f, 0.0f,
            0.8f, 0.5f, 0.7f, 0.1f, 0.0f,
            0.1f, 0.9f, 0.6f, 0.2f, 0.3f,
            0.9f, 0.8f, 0.7f, 0.1f, 0.6f,
            0.0f, 0.0f, 0.0f, 0.0f, 1.0f,
        }, [5, 5]);

        var recall = RetrievalMetrics.RecallAt(scores, [1, 2, 5]);

        Assert.Equal(2 / 5.0, recall[1], 12);   // ranks 0 (row 0) and 0 (row 4)
        Assert.Equal(3 / 5.0, recall[2], 12);   // + row 2 (rank 1)
        Assert.Equal(1.0, recall[5], 12);
    }

    [Fact]
    public void Should_use_the_transposed_similarity_when_retrieving_images_from_text()
    {
        using var scope = NewDisposeScope();
        var images = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        var texts = nn.functional.normalize(tensor(new float[] { 1, 0.1f, 1, 0.2f }, [2, 2]), dim: -1);
        // image 0 (x) scores texts 0.995 / 0.981 -> text 0, hit; image 1 (y) scores 0.100 / 0.196 -> text 1, hit.
        // text 0 scores images 0.995 / 0.100 -> hit; text 1 scores 0.981 / 0.196 -> image 0, miss.

        var result = RetrievalMetrics.Compute(images, texts, [1]);

        Assert.Equal(1.0, result.ImageToText[1], 12);
        Assert.Equal(0.5, result.TextToImage[1], 12);
    }
}
