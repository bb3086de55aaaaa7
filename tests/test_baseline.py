"Tests of `mnist_linear.baseline`, the pixel-similarity baseline, on the real MNIST_SAMPLE."
import torch
import torch.nn.functional as F

from mnist_linear.baseline import baseline_accuracy, digit_stacks, closer_to_3, mean_digits, mnist_distance


def test_baseline_accuracy_matches_the_book(data):
    acc_3s, acc_7s, mean = baseline_accuracy(data)
    assert all(isinstance(a, float) for a in (acc_3s, acc_7s, mean))
    assert (round(acc_3s, 4), round(acc_7s, 4), round(mean, 4)) == (0.9168, 0.9854, 0.9511)


def test_baseline_accuracy_loads_the_data_itself(data):
    assert baseline_accuracy() == baseline_accuracy(data)


def test_mnist_distance_broadcasts():
    a, b = torch.rand(5, 28, 28), torch.rand(28, 28)
    d = mnist_distance(a, b)
    assert d.shape == (5,)
    assert torch.allclose(d[3], (a[3]-b).abs().mean())


def test_mnist_distance_agrees_with_l1_loss():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(28, 28, generator=g), torch.rand(28, 28, generator=g)
    assert torch.allclose(mnist_distance(a, b), F.l1_loss(a, b))


def test_mean_images_classify_themselves(data):
    threes, sevens = digit_stacks(data.train_x, data.train_y)
    assert threes.shape == (6131, 28, 28) and sevens.shape == (6265, 28, 28)
    mean3, mean7 = mean_digits(threes, sevens)
    assert mean3.shape == mean7.shape == (28, 28)
    assert closer_to_3(mean3, mean3, mean7).item() is True
    assert closer_to_3(mean7, mean3, mean7).item() is False
