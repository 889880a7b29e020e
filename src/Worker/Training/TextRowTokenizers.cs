using MmCluster.Shared.Text;
using MmCluster.Worker.Model;

namespace MmCluster.Worker.Training;

/// <summary>The row tokenizer of a CLIP model's text tower, as its config names it (<see cref="ClipConfig.Tokenizer"/>).</summary>
public static class TextRowTokenizers
{
    public static ITextRowTokenizer For(ClipConfig config, int maxCaptionChars = Shared.Manifest.ManifestReadLimits.DefaultMaxCaptionChars) =>
        config.Tokenizer switch
        {
            TextTokenizers.Gpt2 => new CaptionTokenizer(config.ContextLength, maxCaptionChars),
            TextTokenizers.ClipBpe => new ClipBpeRowTokenizer(config.ContextLength, maxCaptionChars),
            var other => throw TextTokenizers.Unknown(other),
        };
}
