namespace MmCluster.Shared.Manifest.Import;

/// <summary>Images of an IDX file (MNIST family): <see cref="Count"/> images of Rows x Columns unsigned bytes, row-major.</summary>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels)
{
    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(checked(index * Rows * Columns), Rows * Columns);
}
