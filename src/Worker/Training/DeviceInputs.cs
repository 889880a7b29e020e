using MmCluster.Worker.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// How a step of any kind turns its batch's host arrays into tensors on its model's device: through the trainer's
/// <see cref="HostStaging"/> when it has one (from page-locked memory without blocking on CUDA; a plain host copy when
/// staging is forced on the CPU), else created on the model's device directly. Every other tensor of the step follows
/// these (masks, targets, positions and noise are made on the device of the tensor they derive from). The device is read
/// from the model at each call, so a model moved after the step was built is still followed.
/// </summary>
public sealed class DeviceInputs(nn.Module model, HostStaging? staging)
{
    /// <summary>The model's device (that of its first parameter).</summary>
    public Device Device
    {
        get
        {
            var device = DeviceOf(model);
            if (staging is not null && (staging.Device.type != device.type || staging.Device.index != device.index))
            {
                throw new InvalidOperationException($"the step stages batches to {staging.Device}, but the model is on {device}");
            }
            return device;
        }
    }

    /// <summary>A (shape) float32 tensor of <paramref name="values"/> on the model's device.</summary>
    public Tensor Of(float[] values, long[] shape) => Place(Device, tensor(values, shape));

    /// <summary>A (shape) int64 tensor of <paramref name="values"/> on the model's device.</summary>
    public Tensor Of(long[] values, long[] shape) => Place(Device, tensor(values, shape));

    /// <summary>The device of <paramref name="model"/>'s first parameter: where evaluation and generation create their inputs.</summary>
    public static Device DeviceOf(nn.Module model) => FirstParameter(model).device;

    private Tensor Place(Device device, Tensor host)
    {
        if (staging is not null)
        {
            return staging.ToDevice(host);
        }
        return device.type == DeviceType.CPU ? host : host.to(device);
    }

    private static Tensor FirstParameter(nn.Module model) =>
        model.parameters().FirstOrDefault() ?? throw new ArgumentException($"{model.GetName()} has no parameter to tell its device", nameof(model));
}
