using SkiaSharp;

namespace MmCluster.Shared.Manifest;

/// <summary>Cheap decodability check: SkiaSharp recognises the encoded header (PNG, JPEG, ...) and reports a size.</summary>
public static class ImageCheck
{
    public static bool IsDecodable(ReadOnlySpan<byte> encoded)
    {
        if (encoded.IsEmpty)
        {
            return false;
        }
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        return codec is not null && codec.Info.Width > 0 && codec.Info.Height > 0;
    }
}
